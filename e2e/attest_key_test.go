//go:build cgo

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/softhsmtest"
)

// TestAttestWithHSMKey: `cachet attest --key pkcs11:...` signs SLSA provenance with a
// key in a real SoftHSM2 token, gated by the signing policy; cosign
// verify-blob-attestation --key and cachet verify-bundle --key accept it, and a policy
// that does not allow the job refuses with no bundle left.
func TestAttestWithHSMKey(t *testing.T) {
	ws := t.TempDir()
	tok := softhsmtest.New(t, t.TempDir(), "attest", "e2e-pin-1414")
	if err := tok.Generate(map[string]softhsmtest.Kind{"p256": softhsmtest.P256}); err != nil {
		t.Fatal(err)
	}
	env := append(jobEnv(t, ws), "SOFTHSM2_CONF="+tok.Conf)
	r := run(t, ws, env, cachetBin, "key", "public", "--key", tok.URI("p256"))
	if r.code != 0 {
		t.Fatalf("key public: %s", r.stderr)
	}
	keyID := keyIDFrom(t, r.stderr)
	pub := filepath.Join(ws, "attest.pub")
	writeFile(t, pub, r.stdout)
	trusted := stack["CACHET_STACK_TRUSTED_ROOT"]
	art := filepath.Join(ws, "app.tar.gz")
	writeFile(t, art, "attested with an HSM key\n")
	attest := func(pol string) result {
		return run(t, ws, env, cachetBin, "attest", "--key", tok.URI("p256"), "--policy", pol, "--tenant", "release",
			"--timestamp-server-url", stack["CACHET_STACK_TSA_URL"]+"/api/v1/timestamp", "--trusted-root", trusted,
			"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--audit-log", filepath.Join(ws, "audit.jsonl"), "--subject-path", art)
	}
	bundle := art + ".intoto.sigstore.json"

	if r := attest(hsmPolicy(t, `"refs/tags/*"`, keyID)); r.code != 3 {
		t.Fatalf("a policy allowing only tags did not refuse a push to main: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(bundle); err == nil {
		t.Fatal("refused attestation left a bundle")
	}
	r = attest(hsmPolicy(t, `"refs/heads/main"`, keyID))
	if r.code != 0 {
		t.Fatalf("cachet attest --key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(unmasked(r.stdout+r.stderr), tok.PIN) {
		t.Fatal("the PIN is in cachet's output")
	}
	home := t.TempDir()
	cv := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
		"verify-blob-attestation", "--key", pub, "--bundle", bundle, "--type", "slsaprovenance1", "--trusted-root", trusted,
		"--use-signed-timestamps", "--insecure-ignore-tlog", art)
	if cv.code != 0 {
		t.Fatalf("cosign verify-blob-attestation --key: %s%s", cv.stdout, cv.stderr)
	}
	vb := func(typ string, builder ...string) result {
		b := wantSAN
		if len(builder) > 0 {
			b = builder[0]
		}
		return run(t, ws, env, cachetBin, "verify-bundle", "--key", pub, "--bundle", bundle, "--type", typ, "--builder-id", b, "--trusted-root", trusted,
			"--min-timestamps", "1", "--insecure-ignore-tlog", art)
	}
	if r := vb("slsaprovenance1"); r.code != 0 {
		t.Fatalf("cachet verify-bundle --key rejected the key-mode attestation: %s%s", r.stdout, r.stderr)
	}
	if vb("slsaprovenance1", "https://github.com/octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main").code == 0 {
		t.Fatal("cachet verify-bundle accepted provenance from another builder")
	}
	if vb("spdx").code == 0 {
		t.Fatal("cachet verify-bundle accepted the wrong predicate type")
	}
}
