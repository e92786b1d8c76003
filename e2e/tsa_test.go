package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCosignAcceptsOurTSA: a bundle whose only RFC 3161 timestamp comes from
// `cachet tsa serve` verifies with cosign (and cachet verify --min-timestamps 1) when our
// TSA is in the trusted root, and fails without it.
func TestCosignAcceptsOurTSA(t *testing.T) {
	ws := t.TempDir()
	tsaURL, withOurs := trustTSA(t, ws)
	art := filepath.Join(ws, "app.bin")
	writeFile(t, art, "timestamped by cachet's own TSA")
	flags := []string{"sign", "--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", stack["CACHET_STACK_REKOR_URL"],
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", withOurs,
		"--timestamp-server-url", tsaURL, art}
	if r := run(t, ws, jobEnv(t, ws), cachetBin, flags...); r.code != 0 {
		t.Fatalf("sign with our TSA: %s %s", r.stdout, r.stderr)
	}
	bundle := art + ".sigstore.json"
	if n := len(readBundle(t, bundle).VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 1 {
		t.Fatalf("%d timestamps", n)
	}
	home := t.TempDir()
	cosign := func(root string) result {
		return run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
			"verify-blob", "--bundle", bundle, "--trusted-root", root, "--certificate-identity", wantSAN,
			"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--use-signed-timestamps", art)
	}
	if r := cosign(withOurs); r.code != 0 {
		t.Fatalf("cosign rejected a bundle timestamped by cachet tsa serve: %s", r.stderr)
	}
	if r := cosign(stack["CACHET_STACK_TRUSTED_ROOT"]); r.code == 0 {
		t.Fatal("cosign accepted our TSA's timestamp without our TSA in the trusted root")
	}
	vb := func(root string) int {
		return run(t, ws, os.Environ(), cachetBin, "verify-bundle", "--trusted-root", root, "--certificate-identity", wantSAN,
			"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", "1", art).code
	}
	if vb(withOurs) != 0 || vb(stack["CACHET_STACK_TRUSTED_ROOT"]) == 0 {
		t.Fatal("cachet verify-bundle did not follow the trusted root's TSAs")
	}
}

// serveTSA starts `cachet tsa serve --addr 127.0.0.1:0 ARGS...` with env (nil: this
// process's), stops it when the test ends, and returns its base URL.
func serveTSA(t *testing.T, env []string, args ...string) string {
	t.Helper()
	srv := exec.CommandContext(t.Context(), cachetBin, append([]string{"tsa", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	srv.Env = env
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "cachet tsa: serving "); ok {
				urls <- strings.Fields(u)[0]
			}
		}
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("cachet tsa serve did not start")
	}
	return ""
}
