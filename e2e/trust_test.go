package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// trustTSA starts a second timestamp authority (cachet tsa serve over a dev chain) and
// builds a trusted root holding the stack's services and it. It returns the TSA's
// timestamp URL and that trusted root.
func trustTSA(t *testing.T, ws string) (tsaURL, trustedRoot string) {
	t.Helper()
	chainDir := filepath.Join(ws, "tsa")
	if r := run(t, ws, os.Environ(), cachetBin, "tsa", "dev-chain", "--out", chainDir); r.code != 0 {
		t.Fatalf("dev-chain: %s", r.stderr)
	}
	srv := exec.CommandContext(t.Context(), cachetBin, "tsa", "serve", "--addr", "127.0.0.1:0",
		"--key", filepath.Join(chainDir, "key.pem"), "--chain", filepath.Join(chainDir, "chain.pem"),
		"--state", filepath.Join(ws, "state"), "--audit-log", filepath.Join(ws, "tsa-audit.jsonl"))
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
	case tsaURL = <-urls:
	case <-time.After(20 * time.Second):
		t.Fatal("cachet tsa serve did not start")
	}
	trustedRoot = filepath.Join(ws, "trusted_root.json")
	stackroot := filepath.Join(stack["CACHET_STACK_DIR"], "stackroot")
	if r := run(t, ws, os.Environ(), stackroot, "--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", stack["CACHET_STACK_REKOR_URL"],
		"--tsa-url", stack["CACHET_STACK_TSA_URL"], "--extra-tsa-chain", filepath.Join(chainDir, "chain.pem"), "--out", trustedRoot); r.code != 0 {
		t.Fatalf("stackroot: %s", r.stderr)
	}
	return tsaURL + "/api/v1/timestamp", trustedRoot
}

// signingConfig writes a signing config v0.2 naming the stack's Fulcio, the given Rekor
// entries and two TSAs of different operators (the stack's and ours), with tsaConfig sel.
func signingConfig(t *testing.T, path, rekor, ourTSA, sel string) {
	t.Helper()
	svc := func(url string, v int, op string) string {
		return fmt.Sprintf(`{"url": %q, "majorApiVersion": %d, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": %q}`, url, v, op)
	}
	if rekor == "" {
		rekor = svc(stack["CACHET_STACK_REKOR_URL"], 1, "stack")
	}
	writeFile(t, path, fmt.Sprintf(`{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [%s, %s],
  "oidcUrls": [],
  "rekorTlogUrls": [%s],
  "tsaUrls": [%s, %s],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": %s
}`, svc(stack["CACHET_STACK_FULCIO_URL"], 1, "stack"), svc("http://127.0.0.1:1/fulcio-v9", 9, "nobody"), rekor,
		svc(stack["CACHET_STACK_TSA_URL"]+"/api/v1/timestamp", 1, "stack"), svc(ourTSA, 1, "cachet"), sel))
}

// TestTrustSigningConfigSelectors: cachet sign takes Fulcio, Rekor and TSAs from a
// signing config v0.2 (no URL flags): tsaConfig ALL and EXACT 2 give bundles with two
// RFC 3161 timestamps (one per TSA operator) that cosign verifies with
// --use-signed-timestamps, ANY gives one; an explicit --timestamp-server-url wins over
// the config; a config whose only Rekor is v2 is refused with a usage error.
func TestTrustSigningConfigSelectors(t *testing.T) {
	ws := t.TempDir()
	ourTSA, trustedRoot := trustTSA(t, ws)
	home := t.TempDir()
	for _, tc := range []struct {
		name, sel string
		extra     []string
		want      int
	}{
		{"all", `{"selector": "ALL"}`, nil, 2},
		{"exact2", `{"selector": "EXACT", "count": 2}`, nil, 2},
		{"any", `{"selector": "ANY"}`, nil, 1},
		{"flag-wins", `{"selector": "ALL"}`, []string{"--timestamp-server-url", ourTSA}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(ws, tc.name+".signing_config.json")
			signingConfig(t, cfg, "", ourTSA, tc.sel)
			art := filepath.Join(ws, tc.name+".bin")
			writeFile(t, art, "signed through a signing config: "+tc.name)
			args := append([]string{"sign", "--signing-config", cfg, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
				"--trusted-root", trustedRoot}, tc.extra...)
			r := run(t, ws, jobEnv(t, ws), cachetBin, append(args, art)...)
			if r.code != 0 {
				t.Fatalf("sign: %s %s", r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "signing config: Fulcio "+stack["CACHET_STACK_FULCIO_URL"]+", Rekor "+stack["CACHET_STACK_REKOR_URL"]) {
				t.Fatalf("services not taken from the config: %s", r.stderr)
			}
			bundle := art + ".sigstore.json"
			b := readBundle(t, bundle)
			if n := len(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != tc.want {
				t.Fatalf("%d RFC 3161 timestamps, want %d", n, tc.want)
			}
			if n := len(b.VerificationMaterial.TlogEntries); n != 1 {
				t.Fatalf("%d tlog entries", n)
			}
			cr := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
				"verify-blob", "--bundle", bundle, "--trusted-root", trustedRoot, "--certificate-identity", wantSAN,
				"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--insecure-ignore-sct", "--use-signed-timestamps", art)
			if cr.code != 0 {
				t.Fatalf("cosign verify-blob: %s", cr.stderr)
			}
			vr := run(t, ws, os.Environ(), cachetBin, "verify-bundle", "--trusted-root", trustedRoot, "--certificate-identity", wantSAN,
				"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", fmt.Sprint(tc.want), art)
			if vr.code != 0 {
				t.Fatalf("cachet verify-bundle --min-timestamps %d: %s", tc.want, vr.stderr)
			}
		})
	}

	t.Run("rekor-v2-only", func(t *testing.T) {
		cfg := filepath.Join(ws, "v2.signing_config.json")
		signingConfig(t, cfg, `{"url": "http://127.0.0.1:1", "majorApiVersion": 2, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "tiles"}`,
			ourTSA, `{"selector": "ANY"}`)
		art := filepath.Join(ws, "v2.bin")
		writeFile(t, art, "never signed")
		r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", cfg, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
			"--trusted-root", trustedRoot, art)
		if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "Rekor v2 is not supported yet") {
			t.Fatalf("exit %d, want 2 and a Rekor v2 message: %s %s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(art + ".sigstore.json"); err == nil {
			t.Fatal("a bundle was written")
		}
		// An explicit --rekor-url makes the config's Rekor irrelevant.
		r = run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", cfg, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
			"--trusted-root", trustedRoot, "--rekor-url", stack["CACHET_STACK_REKOR_URL"], art)
		if r.code != 0 {
			t.Fatalf("sign with --rekor-url over a v2-only config: %s", r.stderr)
		}
	})
}
