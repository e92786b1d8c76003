package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cosignSignBlob signs art with cosign v3 through a signing config of the stack, with a
// token minted by the fake issuer; the bundle goes to ART.sigstore.json.
func cosignSignBlob(t *testing.T, ws, signingConfig, art string) {
	t.Helper()
	tok := strings.TrimPrefix(mintToken(t, ws, nil), "@")
	home := t.TempDir()
	cs := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
		"sign-blob", "--yes", "--identity-token", tok, "--signing-config", signingConfig,
		"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], "--bundle", art+".sigstore.json", art)
	if cs.code != 0 {
		t.Fatalf("cosign sign-blob: %s", cs.stderr)
	}
}

// TestVerifyActionOnCachetAndCosignBundles: cachet verify accepts bundles made on the
// stack by cachet sign and by cosign sign-blob, reports a tampered one with its reason,
// writes the Actions outputs, the job summary and the JSON report, and exits non-zero.
func TestVerifyActionOnCachetAndCosignBundles(t *testing.T) {
	ws := t.TempDir()
	a, b, c := filepath.Join(ws, "a.bin"), filepath.Join(ws, "b.bin"), filepath.Join(ws, "c.bin")
	writeFile(t, a, "artifact a")
	writeFile(t, b, "artifact b")
	writeFile(t, c, "artifact c, signed by cosign")
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"sign"}, stackFlags()...), a, b)...)
	if r.code != 0 {
		t.Fatalf("sign: %s", r.stderr)
	}
	cosignSignBlob(t, ws, stack["CACHET_STACK_SIGNING_CONFIG"], c)

	verifyArgs := []string{"verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
		"--certificate-identity-regexp", `^https://github\.com/octo-org/octo-repo/\.github/workflows/release\.yml@refs/heads/main$`,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--repository-id", "123456789", "--min-timestamps", "1"}
	env := append(jobEnv(t, ws), "RUNNER_TEMP="+ws)
	ok := run(t, ws, env, cachetBin, append(verifyArgs, filepath.Join(ws, "*.bin"))...)
	if ok.code != 0 {
		t.Fatalf("verify exit %d: %s %s", ok.code, ok.stdout, ok.stderr)
	}
	if !strings.Contains(ok.stdout, "3 verified, 0 failed") {
		t.Fatalf("stdout: %s", ok.stdout)
	}

	writeFile(t, b, "artifact b, changed after signing")
	os.Remove(filepath.Join(ws, "github_output"))
	bad := run(t, ws, env, cachetBin, append(verifyArgs, filepath.Join(ws, "*.bin"))...)
	if bad.code != 1 {
		t.Fatalf("verify of a tampered artifact exit %d: %s", bad.code, bad.stdout)
	}
	if !strings.Contains(bad.stdout, "::error title=cachet verify%3A artifact-mismatch::"+b) {
		t.Fatalf("no annotation for %s: %s", b, bad.stdout)
	}
	out, _ := os.ReadFile(filepath.Join(ws, "github_output"))
	for _, want := range []string{"verified<<", "\n2\n", "failed<<", "\n1\n", "report<<", "cachet-verify-report.json"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("GITHUB_OUTPUT lacks %q: %s", want, out)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(ws, "step_summary"))
	if !bytes.Contains(sum, []byte("2 verified, 1 failed")) || !bytes.Contains(sum, []byte("artifact-mismatch")) {
		t.Fatalf("summary: %s", sum)
	}
	var rep struct {
		Verified, Failed int
		Results          []struct {
			Name     string
			Verified bool
			Reason   string
		}
	}
	data, err := os.ReadFile(filepath.Join(ws, "cachet-verify-report.json"))
	if err != nil || json.Unmarshal(data, &rep) != nil || rep.Verified != 2 || rep.Failed != 1 {
		t.Fatalf("report: %s %v", data, err)
	}
	for _, x := range rep.Results {
		if (x.Name == b) == x.Verified || (x.Name == b && x.Reason != "artifact-mismatch") {
			t.Fatalf("report result %+v", x)
		}
	}

	// verify-bundle, cosign's flags, one artifact; the cosign bundle and a wrong identity.
	vb := func(identity, artifact string) int {
		return run(t, ws, env, cachetBin, "verify-bundle", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", identity, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
			"--bundle", c+".sigstore.json", artifact).code
	}
	if code := vb(wantSAN, c); code != 0 {
		t.Fatalf("verify-bundle of cosign's bundle: exit %d", code)
	}
	if code := vb(wantSAN+"x", c); code != 1 {
		t.Fatalf("verify-bundle with a wrong identity: exit %d", code)
	}
}
