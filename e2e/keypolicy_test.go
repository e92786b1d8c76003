package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the job runs as (a self-hosted runner's service user).
const nobody = 65534

// TestKeyModeTrustsOnlyTheOperatorsPolicy replays issue 20's attack: a job running as
// an unprivileged user writes a permissive signing policy where it can (RUNNER_TEMP, a
// directory the operator left writable, a link) and asks to sign with the tenant's key
// under it. Every variant is refused (exit 3, an audited codesign.refused naming the
// principal, no bundle), whatever GITHUB_WORKSPACE says; the operator's root-owned
// policy in the directory cachet was built with decides instead, for an unprivileged
// job too.
func TestKeyModeTrustsOnlyTheOperatorsPolicy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it runs cachet as uid 65534 and writes root-owned policies")
	}
	job, err := os.MkdirTemp("", "cachet-job-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(job) })
	ws, runnerTemp := filepath.Join(job, "workspace"), filepath.Join(job, "runner-temp")
	for _, d := range []string{ws, runnerTemp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	keyPEM := filepath.Join(job, "key.pem")
	writeFile(t, keyPEM, testKeyPEM(t))
	trusted := filepath.Join(job, "trusted_root.json")
	data, err := os.ReadFile(stack["CACHET_STACK_TRUSTED_ROOT"])
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, trusted, string(data))
	r := run(t, job, jobEnv(t, job), cachetBin, "key", "public", "--key", keyPEM)
	if r.code != 0 {
		t.Fatalf("key public: %s", r.stderr)
	}
	keyID := keyIDFrom(t, r.stderr)
	for _, p := range []string{job, keyPEM, ws, runnerTemp} {
		chownNobody(t, p)
	}
	if err := os.Chmod(job, 0o755); err != nil {
		t.Fatal(err)
	}

	allowAll := policyDoc(keyID, `"refs/heads/*", "refs/tags/*"`)
	jobPolicy := filepath.Join(runnerTemp, "policy.yaml")
	writeFile(t, jobPolicy, allowAll)
	chownNobody(t, jobPolicy)

	// The operator's directory for this test: root-owned, plus a subdirectory the
	// operator mistakenly left to the runner's user, and a link the job made there.
	opDir := filepath.Join(policyDir, "keypolicy")
	if err := os.MkdirAll(filepath.Join(opDir, "jobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(opDir) })
	chownNobody(t, filepath.Join(opDir, "jobs"))
	inJobsDir := filepath.Join(opDir, "jobs", "policy.yaml")
	writeFile(t, inJobsDir, allowAll)
	chownNobody(t, inJobsDir)
	linked := filepath.Join(opDir, "jobs", "link.yaml")
	if err := os.Symlink(jobPolicy, linked); err != nil {
		t.Fatal(err)
	}
	tagsOnly := filepath.Join(opDir, "tags-only.yaml")
	writeFile(t, tagsOnly, policyDoc(keyID, `"refs/tags/v*"`))
	mainOK := filepath.Join(opDir, "main.yaml")
	writeFile(t, mainOK, policyDoc(keyID, `"refs/heads/main"`))
	groupWritable := filepath.Join(opDir, "group-writable.yaml")
	writeFile(t, groupWritable, allowAll)
	if err := os.Chmod(groupWritable, 0o664); err != nil {
		t.Fatal(err)
	}

	tsaURL := stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp"
	asNobody := &syscall.Credential{Uid: nobody, Gid: nobody}
	for i, tc := range []struct {
		name      string
		policy    string // "" names none: the default, policy.Dir/policy.yaml
		workspace string // GITHUB_WORKSPACE
		cred      *syscall.Credential
		code      int
		says      string
	}{
		{"the job's policy in RUNNER_TEMP", jobPolicy, ws, asNobody, 3, "is not inside " + policyDir},
		{"GITHUB_WORKSPACE pointed elsewhere", jobPolicy, "/nonexistent", asNobody, 3, "is not inside"},
		{"GITHUB_WORKSPACE unset", jobPolicy, "", asNobody, 3, "is not inside"},
		{"relative path from the workspace", "../runner-temp/policy.yaml", ws, asNobody, 3, "is not inside"},
		{"a directory in the policy dir the job's user owns", inJobsDir, ws, asNobody, 3, "is owned by uid 65534, not root"},
		{"a link in the policy dir to the job's file", linked, ws, asNobody, 3, "through a symbolic link"},
		{"group-writable policy", groupWritable, ws, asNobody, 3, "writable by its group or others"},
		{"even root may not use the job's file", jobPolicy, ws, nil, 3, "is not inside"},
		{"the operator's policy decides: refused", tagsOnly, ws, asNobody, 3, `ref "refs/heads/main" is not a protected ref`},
		{"the operator's policy decides: signed", mainOK, ws, asNobody, 0, "key id: " + keyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(ws, fmt.Sprint("out", i))
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			chownNobody(t, out)
			art := filepath.Join(out, "app.tar.gz")
			writeFile(t, art, "a release\n")
			chownNobody(t, art)
			auditLog := filepath.Join(out, "audit.jsonl")
			env := append(jobEnv(t, job), "RUNNER_TEMP="+runnerTemp)
			if tc.workspace != "" {
				env = append(env, "GITHUB_WORKSPACE="+tc.workspace)
			}
			args := []string{"sign", "--key", keyPEM, "--tenant", "release", "--trusted-root", trusted,
				"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--timestamp-server-url", tsaURL, "--audit-log", auditLog}
			if tc.policy != "" {
				args = append(args, "--policy", tc.policy)
			}
			r := runAs(t, tc.cred, ws, env, cachetBin, append(args, art)...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.says) {
				t.Fatalf("exit %d (want %d), output does not say %q:\n%s%s", r.code, tc.code, tc.says, r.stdout, r.stderr)
			}
			_, statErr := os.Stat(art + ".sigstore.json")
			evs := auditEvents(t, auditLog)
			if tc.code == 0 {
				if statErr != nil || len(evs) != 1 || evs[0]["event"] != "codesign.signed" {
					t.Fatalf("want a bundle and codesign.signed: %v, %v", statErr, evs)
				}
				pub := filepath.Join(out, "key.pub")
				r := run(t, out, jobEnv(t, out), cachetBin, "key", "public", "--key", keyPEM)
				writeFile(t, pub, r.stdout)
				if v := run(t, out, jobEnv(t, out), cachetBin, "verify-bundle", "--key", pub, "--trusted-root", trusted, "--min-timestamps", "1", "--insecure-ignore-tlog",
					"--bundle", art+".sigstore.json", art); v.code != 0 {
					t.Fatalf("verify-bundle: %s%s", v.stdout, v.stderr)
				}
				return
			}
			if statErr == nil {
				t.Fatal("a refused run left a bundle")
			}
			if len(evs) != 1 || evs[0]["event"] != "codesign.refused" || !strings.Contains(fmt.Sprint(evs[0]["principal"]), "repo:octo-org/octo-repo") ||
				!strings.Contains(fmt.Sprint(evs[0]["reason"]), tc.says) {
				t.Fatalf("audit: %v", evs)
			}
		})
	}
}

// policyDoc lets the stack's fake job sign with keyID for tenant "release" on refs.
func policyDoc(keyID, refs string) string {
	return fmt.Sprintf("tenants:\n  release:\n    keys:\n      - key-id: %q\n        rules:\n          - repository: octo-org/octo-repo\n            refs: [%s]\n", keyID, refs)
}

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func chownNobody(t *testing.T, p string) {
	t.Helper()
	if err := os.Lchown(p, nobody, nobody); err != nil {
		t.Fatal(err)
	}
}
