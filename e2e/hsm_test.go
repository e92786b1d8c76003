//go:build cgo

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/softhsmtest"
)

// hsmPolicy lets the stack's fake job (a push to main of octo-org/octo-repo) sign with
// keyID for tenant "release" on refs. It writes the policy where the operator would:
// in the policy directory cachetBin was built with (one subdirectory per test).
func hsmPolicy(t *testing.T, refs string, keyIDs ...string) string {
	t.Helper()
	dir := filepath.Join(policyDir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var b strings.Builder
	b.WriteString("tenants:\n  release:\n    keys:\n")
	for _, id := range keyIDs {
		fmt.Fprintf(&b, "      - key-id: %q\n        rules:\n          - repository: octo-org/octo-repo\n            repository-id: \"123456789\"\n"+
			"            workflow: octo-org/octo-repo/.github/workflows/release.yml\n            refs: [%s]\n            events: [push]\n", id, refs)
	}
	p := filepath.Join(dir, "policy-"+strings.NewReplacer("/", "_", "*", "x", `"`, "").Replace(refs)+".yaml")
	writeFile(t, p, b.String())
	return p
}

// unmasked is output without the ::add-mask:: commands that hand secrets to the runner
// (which hides them from the log); a PIN anywhere else is a leak.
func unmasked(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestHSMSignThenCosignVerifies is key mode end to end: keys generated inside a real
// SoftHSM2 token, cachet sign --key pkcs11:... on the local stack (TSA from the stack,
// the job's identity from the stack's OIDC issuer, the signing policy deciding), then
// cosign verify-blob --key and cachet verify-bundle --key accept the bundle; with
// --tlog-upload the bundle also carries a Rekor entry and cosign checks it.
func TestHSMSignThenCosignVerifies(t *testing.T) {
	ws := t.TempDir()
	tok := softhsmtest.New(t, t.TempDir(), "release", "e2e-pin-2718")
	if err := tok.Generate(map[string]softhsmtest.Kind{"p256": softhsmtest.P256, "p384": softhsmtest.P384, "rsa2048": softhsmtest.RSA2048}); err != nil {
		t.Fatal(err)
	}
	env := append(jobEnv(t, ws), "SOFTHSM2_CONF="+tok.Conf)
	tsaURL := stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp"
	trusted := stack["CACHET_STACK_TRUSTED_ROOT"]

	type keyInfo struct{ id, pub string }
	info := map[string]keyInfo{}
	var ids []string
	for _, obj := range []string{"p256", "p384", "rsa2048"} {
		r := run(t, ws, env, cachetBin, "key", "public", "--key", tok.URI(obj))
		if r.code != 0 || !strings.HasPrefix(r.stdout, "-----BEGIN PUBLIC KEY-----") {
			t.Fatalf("cachet key public %s: exit %d\n%s%s", obj, r.code, r.stdout, r.stderr)
		}
		id := keyIDFrom(t, r.stderr)
		pub := filepath.Join(ws, obj+".pub")
		writeFile(t, pub, r.stdout)
		info[obj] = keyInfo{id, pub}
		ids = append(ids, id)
	}
	pol := hsmPolicy(t, `"refs/heads/main"`, ids...)

	for _, tc := range []struct {
		name, obj string
		extra     []string
		tlog      bool
		cosign    bool // cosign verify-blob --key checks RSA as PKCS#1 v1.5 only
	}{
		{"p256", "p256", nil, false, true},
		{"p384", "p384", nil, false, true},
		{"rsa2048 pkcs1v15", "rsa2048", nil, false, true},
		{"rsa2048 pss", "rsa2048", []string{"--rsa-scheme", "pss"}, false, false},
		{"p256 with rekor", "p256", []string{"--tlog-upload", "--rekor-url", stack["CACHET_STACK_REKOR_URL"]}, true, true},
		{"p256 with rekor v2", "p256", []string{"--tlog-upload", "--rekor-url", stack["CACHET_STACK_REKOR_V2_URL"], "--rekor-api-version", "2"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			art := filepath.Join(dir, "app.tar.gz")
			writeFile(t, art, "release payload for "+tc.name+"\n")
			auditLog := filepath.Join(dir, "audit.jsonl")
			args := append([]string{"sign", "--key", tok.URI(tc.obj), "--policy", pol, "--tenant", "release",
				"--timestamp-server-url", tsaURL, "--trusted-root", trusted, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
				"--audit-log", auditLog}, append(tc.extra, art)...)
			r := run(t, dir, env, cachetBin, args...)
			if r.code != 0 {
				t.Fatalf("cachet sign exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "::add-mask::"+tok.PIN) || strings.Contains(unmasked(r.stdout+r.stderr), tok.PIN) {
				t.Fatal("the PIN is not masked, or is in cachet's output")
			}
			bundle := art + ".sigstore.json"
			raw, err := os.ReadFile(bundle)
			if err != nil {
				t.Fatal(err)
			}
			var bj struct {
				VerificationMaterial struct {
					PublicKey struct {
						Hint string `json:"hint"`
					} `json:"publicKey"`
					TlogEntries               []json.RawMessage `json:"tlogEntries"`
					TimestampVerificationData struct {
						Rfc3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
					} `json:"timestampVerificationData"`
				} `json:"verificationMaterial"`
			}
			if err := json.Unmarshal(raw, &bj); err != nil {
				t.Fatal(err)
			}
			vm := bj.VerificationMaterial
			if vm.PublicKey.Hint != info[tc.obj].id || len(vm.TimestampVerificationData.Rfc3161Timestamps) != 1 || (len(vm.TlogEntries) == 1) != tc.tlog {
				t.Fatalf("bundle: hint %q (want %q), %d timestamps, %d log entries", vm.PublicKey.Hint, info[tc.obj].id,
					len(vm.TimestampVerificationData.Rfc3161Timestamps), len(vm.TlogEntries))
			}
			if slices.Contains(tc.extra, "--rekor-api-version") {
				if e := readBundle(t, bundle).VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
					t.Fatalf("want one Rekor v2 entry: %+v", e)
				}
			}
			evs := auditEvents(t, auditLog)
			if len(evs) != 1 || evs[0]["event"] != "codesign.signed" || evs[0]["tenant"] != "release" || evs[0]["key_id"] != info[tc.obj].id ||
				!strings.Contains(fmt.Sprint(evs[0]["principal"]), "repo:octo-org/octo-repo") || !strings.HasPrefix(fmt.Sprint(evs[0]["digest"]), "sha256:") {
				t.Fatalf("audit: %v", evs)
			}

			vb := []string{"verify-bundle", "--key", info[tc.obj].pub, "--bundle", bundle, "--trusted-root", trusted, "--min-timestamps", "1"}
			if !tc.tlog {
				vb = append(vb, "--insecure-ignore-tlog")
			}
			if r := run(t, dir, env, cachetBin, append(vb, art)...); r.code != 0 {
				t.Fatalf("cachet verify-bundle --key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			cv := []string{"verify-blob", "--key", info[tc.obj].pub, "--bundle", bundle, "--trusted-root", trusted, "--use-signed-timestamps"}
			if !tc.tlog {
				cv = append(cv, "--insecure-ignore-tlog")
			}
			r = run(t, dir, env, stack["CACHET_STACK_COSIGN"], append(cv, art)...)
			if tc.cosign && r.code != 0 {
				t.Fatalf("cosign verify-blob --key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !tc.cosign && r.code == 0 {
				t.Fatalf("cosign accepted a PSS bundle; update the README")
			}
			// sigstore-js requires a log entry by default: the bundles with one are checked.
			if tc.tlog {
				if r := sigstoreJS(t, dir, bundle, art, "--key", info[tc.obj].pub); r.code != 0 {
					t.Fatalf("sigstore-js --key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				if r := sigstoreJS(t, dir, bundle, art, "--key", info["p384"].pub); r.code != 1 {
					t.Fatalf("sigstore-js accepted the bundle for another key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
			}
			// Another key, or a changed artifact, is rejected by both.
			other := info["p256"].pub
			if tc.obj == "p256" {
				other = info["p384"].pub
			}
			if r := run(t, dir, env, stack["CACHET_STACK_COSIGN"], "verify-blob", "--key", other, "--bundle", bundle, "--trusted-root", trusted, "--insecure-ignore-tlog", art); r.code == 0 {
				t.Error("cosign accepted the bundle for another key")
			}
			writeFile(t, art, "changed\n")
			if r := run(t, dir, env, cachetBin, append(vb, art)...); r.code == 0 {
				t.Error("cachet verify-bundle accepted a changed artifact")
			}
		})
	}
}

// TestHSMSignRefusals: each way key mode must not sign ends with its exit code, a clear
// message, an audit line where a decision was made, and no bundle.
func TestHSMSignRefusals(t *testing.T) {
	ws := t.TempDir()
	tok := softhsmtest.New(t, t.TempDir(), "refuse", "e2e-pin-3141")
	if err := tok.Generate(map[string]softhsmtest.Kind{"p256": softhsmtest.P256}); err != nil {
		t.Fatal(err)
	}
	if err := tok.GenerateMismatched("mismatch"); err != nil {
		t.Fatal(err)
	}
	env := append(jobEnv(t, ws), "SOFTHSM2_CONF="+tok.Conf)
	r := run(t, ws, env, cachetBin, "key", "public", "--key", tok.URI("p256"))
	if r.code != 0 {
		t.Fatalf("key public: %s", r.stderr)
	}
	keyID := keyIDFrom(t, r.stderr)
	mainOnly := hsmPolicy(t, `"refs/heads/main"`, keyID)
	tagsOnly := hsmPolicy(t, `"refs/tags/v*"`, keyID)
	wrongPIN := filepath.Join(t.TempDir(), "wrong.pin")
	writeFile(t, wrongPIN, "not-the-pin-1618\n")
	tsaURL := stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp"

	for _, tc := range []struct {
		name      string
		key       string
		policy    string
		tenant    string
		noTSA     bool
		code      int
		says      string
		auditWant string // "" when no decision was reached
	}{
		{"ref not protected", tok.URI("p256"), tagsOnly, "release", false, 3, "is not a protected ref", "codesign.refused"},
		{"unknown tenant", tok.URI("p256"), mainOnly, "games", false, 3, `tenant "games" is not in the policy`, "codesign.refused"},
		{"wrong PIN", strings.Replace(tok.URI("p256"), tok.PINFile, wrongPIN, 1), mainOnly, "release", false, 1, "CKR_PIN_INCORRECT", "codesign.failed"},
		{"missing object", tok.URI("absent"), mainOnly, "release", false, 1, "key not found", "codesign.failed"},
		{"missing module", strings.Replace(tok.URI("p256"), softhsmtest.Module, "/usr/lib/none/libnone.so", 1), mainOnly, "release", false, 1, "install the module", "codesign.failed"},
		{"public half of another key", tok.URI("mismatch"), mainOnly, "release", false, 1, "does not match", "codesign.failed"},
		{"no timestamp authority", tok.URI("p256"), mainOnly, "release", true, 2, "needs --timestamp-server-url", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			art := filepath.Join(dir, "app.tar.gz")
			writeFile(t, art, "payload\n")
			auditLog := filepath.Join(dir, "audit.jsonl")
			args := []string{"sign", "--key", tc.key, "--policy", tc.policy, "--tenant", tc.tenant, "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
				"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--audit-log", auditLog}
			if !tc.noTSA {
				args = append(args, "--timestamp-server-url", tsaURL)
			}
			r := run(t, dir, env, cachetBin, append(args, art)...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.says) {
				t.Fatalf("exit %d (want %d), output does not say %q:\n%s%s", r.code, tc.code, tc.says, r.stdout, r.stderr)
			}
			if out := unmasked(r.stdout + r.stderr); strings.Contains(out, tok.PIN) || strings.Contains(out, "not-the-pin-1618") {
				t.Fatal("a PIN is in cachet's output")
			}
			if entries, _ := filepath.Glob(filepath.Join(dir, "*.sigstore.json*")); len(entries) > 0 {
				t.Fatalf("left a bundle: %v", entries)
			}
			if hidden, _ := filepath.Glob(filepath.Join(dir, ".*")); len(hidden) > 0 {
				t.Fatalf("left a temporary file: %v", hidden)
			}
			if tc.auditWant == "" {
				return
			}
			evs := auditEvents(t, auditLog)
			if len(evs) != 1 || evs[0]["event"] != tc.auditWant || evs[0]["tenant"] != tc.tenant || !strings.Contains(fmt.Sprint(evs[0]["reason"]), tc.says) {
				t.Fatalf("audit: %v", evs)
			}
		})
	}
}
