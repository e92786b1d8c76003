package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/trust/tuftest"
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
	tsaURL = serveTSA(t, nil, "--key", filepath.Join(chainDir, "key.pem"), "--chain", filepath.Join(chainDir, "chain.pem"),
		"--state", filepath.Join(ws, "state"), "--audit-log", filepath.Join(ws, "tsa-audit.jsonl"))
	trustedRoot = filepath.Join(ws, "trusted_root.json")
	stackroot := filepath.Join(stack["CACHET_STACK_DIR"], "stackroot")
	if r := run(t, ws, os.Environ(), stackroot, "--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", stack["CACHET_STACK_REKOR_URL"],
		"--rekor-v2-url", stack["CACHET_STACK_REKOR_V2_URL"], "--rekor-v2-key", filepath.Join(stack["CACHET_STACK_DIR"], "rekor2.pub"),
		"--tsa-url", stack["CACHET_STACK_TSA_URL"], "--extra-tsa-chain", filepath.Join(chainDir, "chain.pem"),
		"--ctlog-url", stack["CACHET_STACK_CT_URL"], "--ctlog-key", filepath.Join(stack["CACHET_STACK_DIR"], "ctlog.pub"), "--out", trustedRoot); r.code != 0 {
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

// verifyTimestamped checks a bundle with cosign (--use-signed-timestamps) and with
// cachet verify-bundle requiring n RFC 3161 timestamps, against trustedRoot.
func verifyTimestamped(t *testing.T, ws, home, trustedRoot, bundle, art string, n int) {
	t.Helper()
	cr := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
		"verify-blob", "--bundle", bundle, "--trusted-root", trustedRoot, "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--use-signed-timestamps", art)
	if cr.code != 0 {
		t.Fatalf("cosign verify-blob: %s", cr.stderr)
	}
	vr := run(t, ws, os.Environ(), cachetBin, "verify-bundle", "--trusted-root", trustedRoot, "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", fmt.Sprint(n), art)
	if vr.code != 0 {
		t.Fatalf("cachet verify-bundle --min-timestamps %d: %s", n, vr.stderr)
	}
}

// TestTrustSigningConfigSelectors: cachet sign takes Fulcio, Rekor and TSAs from a
// signing config v0.2 (no URL flags): tsaConfig ALL and EXACT 2 give bundles with two
// RFC 3161 timestamps (one per TSA operator) that cosign verifies with
// --use-signed-timestamps, ANY gives one; an explicit --timestamp-server-url wins over
// the config; a config whose Rekor is v2 signs into it with both timestamps, unless
// --rekor-url names a v1 log.
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
			verifyTimestamped(t, ws, home, trustedRoot, bundle, art, tc.want)
		})
	}

	t.Run("rekor-v2-all-tsas", func(t *testing.T) {
		cfg := filepath.Join(ws, "v2.signing_config.json")
		signingConfig(t, cfg, fmt.Sprintf(`{"url": %q, "majorApiVersion": 2, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "tiles"}`,
			stack["CACHET_STACK_REKOR_V2_URL"]), ourTSA, `{"selector": "ALL"}`)
		art := filepath.Join(ws, "v2.bin")
		writeFile(t, art, "signed into rekor v2 with two timestamps")
		r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", cfg, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
			"--trusted-root", trustedRoot, art)
		if r.code != 0 || !strings.Contains(r.stderr, "Rekor "+stack["CACHET_STACK_REKOR_V2_URL"]+" (v2), 2 TSA(s)") {
			t.Fatalf("exit %d, want the v2 log and both TSAs: %s %s", r.code, r.stdout, r.stderr)
		}
		bundle := art + ".sigstore.json"
		b := readBundle(t, bundle)
		if n := len(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 2 {
			t.Fatalf("%d RFC 3161 timestamps, want 2", n)
		}
		if e := b.VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
			t.Fatalf("want one Rekor v2 entry: %+v", e)
		}
		verifyTimestamped(t, ws, home, trustedRoot, bundle, art, 2)
		// An explicit --rekor-url (a v1 log) wins over the config's v2 log.
		art2 := filepath.Join(ws, "v1-over-v2.bin")
		writeFile(t, art2, "flag wins")
		r = run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", cfg, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
			"--trusted-root", trustedRoot, "--rekor-url", stack["CACHET_STACK_REKOR_URL"], art2)
		if r.code != 0 {
			t.Fatalf("sign with --rekor-url over a v2 config: %s", r.stderr)
		}
		if e := readBundle(t, art2+".sigstore.json").VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.1" {
			t.Fatalf("want one Rekor v1 entry: %+v", e)
		}
	})
}

// offline runs cachet in a new network namespace: no interface but a down loopback, so
// any network access fails.
func offline(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, "unshare", append([]string{"-n", cachetBin}, args...)...)
}

// TestTrustAirGapped: cachet trust export puts the vectors' trusted root and a signing
// config in one file; cachet trust import unpacks the same bytes; cachet verify and
// verify-bundle accept the file as --trusted-root inside `unshare -n` (no network at all,
// checked with curl); an edited envelope is refused, and one re-exported with a swapped
// Rekor key fails verification. Then cachet sign takes the stack's envelope as
// --signing-config alone (services and trusted root) and the bundle verifies offline;
// so does cachet attest.
func TestTrustAirGapped(t *testing.T) {
	ws := t.TempDir()
	td, err := filepath.Abs("../testdata/verify")
	if err != nil {
		t.Fatal(err)
	}
	var vec struct{ Identity, Issuer string }
	b, err := os.ReadFile(filepath.Join(td, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vec); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(ws, "trust.json")
	if r := run(t, ws, os.Environ(), cachetBin, "trust", "export", "--trusted-root", filepath.Join(td, "trusted_root.json"),
		"--signing-config", stack["CACHET_STACK_SIGNING_CONFIG"], "--out", envFile); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	if r := offline(t, ws, "trust", "import", envFile, "--dir", filepath.Join(ws, "imported")); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	var orig, imported any
	for p, v := range map[string]*any{filepath.Join(td, "trusted_root.json"): &orig, filepath.Join(ws, "imported", "trusted_root.json"): &imported} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(orig) != fmt.Sprint(imported) {
		t.Fatal("imported trusted root differs from the exported one")
	}
	if _, err := os.Stat(filepath.Join(ws, "imported", "signing_config.v0.2.json")); err != nil {
		t.Fatal(err)
	}

	// The namespace really has no network: the stack's Rekor is unreachable from it.
	if r := run(t, ws, os.Environ(), "unshare", "-n", "curl", "-fsS", "--max-time", "3", stack["CACHET_STACK_REKOR_URL"]+"/api/v1/log"); r.code == 0 {
		t.Fatal("unshare -n left the network reachable")
	}
	for _, n := range []string{"artifact.txt", "other.txt"} {
		copyFile(t, filepath.Join(td, n), filepath.Join(ws, n))
	}
	copyFile(t, filepath.Join(td, "artifact.txt.cachet.sigstore.json"), filepath.Join(ws, "artifact.txt.sigstore.json"))
	copyFile(t, filepath.Join(td, "other.txt.sigstore.json"), filepath.Join(ws, "other.txt.sigstore.json"))
	policy := []string{"--certificate-identity", vec.Identity, "--certificate-oidc-issuer", vec.Issuer}
	verifyAll := func(root string) result {
		return offline(t, ws, append(append([]string{"verify", "--trusted-root", root}, policy...), "artifact.txt", "other.txt")...)
	}
	verifyCosign := func(root string) result {
		return offline(t, ws, append(append([]string{"verify-bundle", "--trusted-root", root, "--bundle", filepath.Join(td, "artifact.txt.cosign.sigstore.json")},
			policy...), "artifact.txt")...)
	}
	for _, root := range []string{envFile, filepath.Join(ws, "imported", "trusted_root.json")} {
		if r := verifyAll(root); r.code != 0 {
			t.Fatalf("offline cachet verify --trusted-root %s: %s %s", root, r.stdout, r.stderr)
		}
		if r := verifyCosign(root); r.code != 0 || !strings.Contains(r.stdout, "Verified OK") {
			t.Fatalf("offline cachet verify-bundle of cosign's bundle: %s %s", r.stdout, r.stderr)
		}
	}

	// Edited in place: the digest no longer matches.
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		TrustedRoot map[string]any `json:"trustedRoot"`
	}
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	rekorKey := e.TrustedRoot["tlogs"].([]any)[0].(map[string]any)["publicKey"].(map[string]any)["rawBytes"].(string)
	edited := filepath.Join(ws, "edited.json")
	logURL := e.TrustedRoot["tlogs"].([]any)[0].(map[string]any)["baseUrl"].(string)
	writeFile(t, edited, strings.Replace(string(env), logURL, logURL+"0", 1))
	if r := verifyAll(edited); r.code != 2 || !strings.Contains(r.stderr, "digest mismatch") {
		t.Fatalf("edited envelope: exit %d: %s", r.code, r.stderr)
	}
	// Re-exported with another Rekor key (digests recomputed): the log entries no longer verify.
	swapped := filepath.Join(ws, "swapped_root.json")
	writeFile(t, swapped, strings.Replace(string(readAll(t, filepath.Join(ws, "imported", "trusted_root.json"))), rekorKey, otherRekorKey, 1))
	swappedEnv := filepath.Join(ws, "swapped.json")
	if r := run(t, ws, os.Environ(), cachetBin, "trust", "export", "--trusted-root", swapped, "--out", swappedEnv); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	if r := verifyAll(swappedEnv); r.code != 1 {
		t.Fatalf("swapped Rekor key: exit %d, want 1: %s %s", r.code, r.stdout, r.stderr)
	}

	// Signing from the stack's envelope alone, then verifying offline.
	stackEnv := filepath.Join(ws, "stack-trust.json")
	if r := run(t, ws, os.Environ(), cachetBin, "trust", "export", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
		"--signing-config", stack["CACHET_STACK_SIGNING_CONFIG"], "--out", stackEnv); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	art := filepath.Join(ws, "fresh.bin")
	writeFile(t, art, "signed with an exported trust file")
	if r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", stackEnv, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], art); r.code != 0 {
		t.Fatalf("sign --signing-config ENVELOPE: %s %s", r.stdout, r.stderr)
	}
	if n := len(readBundle(t, art+".sigstore.json").VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 1 {
		t.Fatalf("%d timestamps, want the config's one", n)
	}
	if r := offline(t, ws, "verify", "--trusted-root", stackEnv, "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", "1", art); r.code != 0 {
		t.Fatalf("offline verify of a fresh bundle: %s %s", r.stdout, r.stderr)
	}
	// attest takes the same file the same way: services and trusted root.
	if r := run(t, ws, jobEnv(t, ws), cachetBin, "attest", "--signing-config", stackEnv, "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
		"--subject-path", art); r.code != 0 || !strings.Contains(r.stderr, "signing config: Fulcio "+stack["CACHET_STACK_FULCIO_URL"]) {
		t.Fatalf("attest --signing-config ENVELOPE: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if n := len(readBundle(t, art+".intoto.sigstore.json").VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 1 {
		t.Fatalf("attestation: %d timestamps, want the config's one", n)
	}
	if r := offline(t, ws, "verify-bundle", "--trusted-root", stackEnv, "--type", "slsaprovenance1", "--bundle", art+".intoto.sigstore.json",
		"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", "1", art); r.code != 0 {
		t.Fatalf("offline verify of the attestation: %s %s", r.stdout, r.stderr)
	}
}

// otherRekorKey is a P-256 public key (DER, base64) no log in the vectors uses.
const otherRekorKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4qniKdfNg86QKoLhyHVt087Qy40tTNbD+4UGEW798YAzusZHMPp/ALwaeYw5UwU69/8ZcLIcN9t5oa/nBGllgw=="

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	writeFile(t, to, string(readAll(t, from)))
}

// TestTrustTUFRefresh: cachet trust refresh fetches the trusted root and signing config
// from a TUF repository (go-tuf, served on loopback by the test) into a cache; after the
// repository publishes a trusted root with a second TSA and a signing config selecting
// ALL TSAs, a refresh picks them up and cachet sign, given only the cached files, makes a
// bundle with two timestamps that cosign verifies. Expired and badly signed timestamp
// metadata are refused (exit 1, a message saying which) and leave the cache as it was.
func TestTrustTUFRefresh(t *testing.T) {
	ws := t.TempDir()
	ourTSA, withOurs := trustTSA(t, ws)
	repo, err := tuftest.New(filepath.Join(ws, "tuf-repo"))
	if err != nil {
		t.Fatal(err)
	}
	set := func(trustedRoot, signingConfig string) {
		t.Helper()
		for name, p := range map[string]string{"trusted_root.json": trustedRoot, "signing_config.v0.2.json": signingConfig} {
			if err := repo.SetTarget(name, readAll(t, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	set(stack["CACHET_STACK_TRUSTED_ROOT"], stack["CACHET_STACK_SIGNING_CONFIG"])
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
	t.Cleanup(srv.Close)
	anchor := filepath.Join(ws, "tuf-root.json")
	b, err := repo.RootJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, anchor, string(b))
	cache := filepath.Join(ws, "cache")
	refresh := func() result {
		return run(t, ws, os.Environ(), cachetBin, "trust", "refresh", "--tuf-url", srv.URL, "--tuf-root", anchor, "--cache", cache)
	}
	if r := refresh(); r.code != 0 {
		t.Fatalf("refresh: %s", r.stderr)
	}
	cachedRoot, cachedConfig := filepath.Join(cache, "trusted_root.json"), filepath.Join(cache, "signing_config.v0.2.json")
	sign := func(name string) bundleJSON {
		t.Helper()
		art := filepath.Join(ws, name)
		writeFile(t, art, "signed with TUF-distributed trust: "+name)
		if r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", cachedConfig, "--trusted-root", cachedRoot,
			"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], art); r.code != 0 {
			t.Fatalf("sign: %s %s", r.stdout, r.stderr)
		}
		return readBundle(t, art+".sigstore.json")
	}
	if n := len(sign("v1.bin").VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 1 {
		t.Fatalf("v1: %d timestamps", n)
	}

	// The repository adds our TSA to the trusted root and selects ALL TSAs.
	cfg := filepath.Join(ws, "all.signing_config.json")
	signingConfig(t, cfg, "", ourTSA, `{"selector": "ALL"}`)
	set(withOurs, cfg)
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	if r := refresh(); r.code != 0 {
		t.Fatalf("refresh: %s", r.stderr)
	}
	if n := len(sign("v2.bin").VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 2 {
		t.Fatalf("after refresh: %d timestamps, want 2", n)
	}
	home := t.TempDir()
	if r := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
		"verify-blob", "--bundle", filepath.Join(ws, "v2.bin.sigstore.json"), "--trusted-root", cachedRoot, "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--use-signed-timestamps", filepath.Join(ws, "v2.bin")); r.code != 0 {
		t.Fatalf("cosign with the refreshed trusted root: %s", r.stderr)
	}

	// Refusals: the repository now offers the stack's root without our TSA again.
	good := string(readAll(t, cachedRoot))
	for _, tc := range []struct {
		name    string
		publish func() error
		want    string
	}{
		{"expired", repo.PublishExpired, "metadata expired"},
		{"badly-signed", repo.PublishBadlySigned, "not signed by the keys the TUF root trusts"},
	} {
		set(stack["CACHET_STACK_TRUSTED_ROOT"], stack["CACHET_STACK_SIGNING_CONFIG"])
		if err := tc.publish(); err != nil {
			t.Fatal(err)
		}
		r := refresh()
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%s: exit %d, want 1 and %q: %s", tc.name, r.code, tc.want, r.stderr)
		}
		if string(readAll(t, cachedRoot)) != good {
			t.Fatalf("%s: the refused refresh changed the cached trusted root", tc.name)
		}
	}
}
