package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// v2Flags point cachet at the stack's Rekor v2 (rekor-tiles) log by flags.
func v2Flags(withTSA bool) []string {
	f := []string{
		"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"],
		"--rekor-url", stack["CACHET_STACK_REKOR_V2_URL"], "--rekor-api-version", "2",
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
		"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
	}
	if withTSA {
		f = append(f, "--timestamp-server-url", stack["CACHET_STACK_TSA_URL"]+"/api/v1/timestamp")
	}
	return f
}

// trustedRootWithout writes a copy of the stack's trusted root without the log at url.
func trustedRootWithout(t *testing.T, dir, url string) string {
	t.Helper()
	raw, err := os.ReadFile(stack["CACHET_STACK_TRUSTED_ROOT"])
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, l := range tr["tlogs"].([]any) {
		if l.(map[string]any)["baseUrl"] != url {
			kept = append(kept, l)
		}
	}
	if len(kept) != len(tr["tlogs"].([]any))-1 {
		t.Fatalf("trusted root has no log %s", url)
	}
	tr["tlogs"] = kept
	out, _ := json.Marshal(tr)
	p := filepath.Join(dir, "trusted_root_no_v2.json")
	writeFile(t, p, string(out))
	return p
}

// TestRekorV2SignVerifies is issue 10's Rekor v2 path on a real rekor-tiles log: a job
// signs through the stack's signing config that selects the v2 log; the bundle holds a
// hashedrekord 0.0.2 entry with an inclusion proof and a signed checkpoint but no
// integrated time or SET, and an RFC 3161 timestamp; cosign v3 and cachet verify accept
// it and refuse a changed artifact. An attestation goes to the v2 log as a hashedrekord
// over the envelope's PAE (rekor-tiles refuses its dsse type) and both verifiers accept
// it. cachet verify accepts what cosign signs into the v2 log. A v2 log with no TSA is a usage error, and a v2 log the trusted root lacks is
// refused before any bundle is written.
func TestRekorV2SignVerifies(t *testing.T) {
	if stack["CACHET_STACK_REKOR_V2_URL"] == "" {
		t.Fatal("the stack exports no CACHET_STACK_REKOR_V2_URL: restart it with scripts/stack/down && scripts/stack/up")
	}
	ws := t.TempDir()

	t.Run("signing-config", func(t *testing.T) {
		art := filepath.Join(ws, "app.bin")
		writeFile(t, art, "signed into a tiles log\n")
		r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--signing-config", stack["CACHET_STACK_SIGNING_CONFIG_V2"],
			"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], art)
		if r.code != 0 {
			t.Fatalf("sign exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "Rekor "+stack["CACHET_STACK_REKOR_V2_URL"]+" (v2)") {
			t.Fatalf("the v2 log was not taken from the signing config: %s", r.stderr)
		}
		bundle := art + ".sigstore.json"
		raw, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		bj := readBundle(t, bundle)
		vm := bj.VerificationMaterial
		if len(vm.TlogEntries) != 1 {
			t.Fatalf("%d tlog entries", len(vm.TlogEntries))
		}
		e := vm.TlogEntries[0]
		if e.KindVersion.Kind != "hashedrekord" || e.KindVersion.Version != "0.0.2" || e.InclusionPromise != nil ||
			(e.IntegratedTime != "" && e.IntegratedTime != "0") || e.InclusionProof == nil || !strings.HasPrefix(e.InclusionProof.Checkpoint.Envelope, "127.0.0.1\n") ||
			len(vm.TimestampVerificationData.Rfc3161Timestamps) != 1 {
			t.Fatalf("want one hashedrekord 0.0.2 entry (checkpoint with origin 127.0.0.1, no SET, no integrated time) and one timestamp:\n%s", raw)
		}
		if c := cosignVerify(t, ws, bundle, wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], art); c.code != 0 {
			t.Fatalf("cosign verify-blob: %s", c.stderr)
		}
		v := run(t, ws, os.Environ(), cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], art)
		if v.code != 0 {
			t.Fatalf("cachet verify: %s %s", v.stdout, v.stderr)
		}
		other := filepath.Join(ws, "other.bin")
		writeFile(t, other, "not what was signed\n")
		if c := cosignVerify(t, ws, bundle, wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], other); c.code == 0 {
			t.Fatal("cosign accepted a changed artifact")
		}
		writeFile(t, other+".sigstore.json", string(raw))
		v = run(t, ws, os.Environ(), cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], other)
		if v.code != 1 {
			t.Fatal("cachet verify accepted a changed artifact")
		}
		// Without its timestamp a v2 bundle says nothing about when it was signed: refused.
		var stripped map[string]any
		if err := json.Unmarshal(raw, &stripped); err != nil {
			t.Fatal(err)
		}
		delete(stripped["verificationMaterial"].(map[string]any), "timestampVerificationData")
		untimed := filepath.Join(ws, "untimed-copy.bin")
		writeFile(t, untimed, "signed into a tiles log\n")
		sb, _ := json.Marshal(stripped)
		writeFile(t, untimed+".sigstore.json", string(sb))
		v = run(t, ws, os.Environ(), cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], untimed)
		if v.code != 1 || !strings.Contains(v.stdout+v.stderr, untimed+": timestamp-invalid") {
			t.Fatalf("cachet verify of a v2 bundle without a timestamp: exit %d: %s %s", v.code, v.stdout, v.stderr)
		}
		if c := cosignVerify(t, ws, untimed+".sigstore.json", wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], untimed); c.code == 0 {
			t.Fatal("cosign accepted a v2 bundle without a timestamp")
		}
		// A verifier whose root lacks the v2 log refuses the bundle.
		noV2 := trustedRootWithout(t, ws, stack["CACHET_STACK_REKOR_V2_URL"])
		v = run(t, ws, os.Environ(), cachetBin, "verify-bundle", "--trusted-root", noV2, "--certificate-identity", wantSAN,
			"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--bundle", bundle, art)
		if v.code == 0 {
			t.Fatal("verify-bundle accepted a v2 entry from a log its trusted root lacks")
		}
	})

	t.Run("attest", func(t *testing.T) {
		art := filepath.Join(ws, "attested.tar.gz")
		writeFile(t, art, "attested into a tiles log\n")
		bundle := filepath.Join(ws, "provenance.sigstore.json")
		r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"attest", "--bundle", bundle}, v2Flags(true)...),
			"--subject-path", art)...)
		if r.code != 0 {
			t.Fatalf("attest exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		b := readBundle(t, bundle)
		if n := len(b.VerificationMaterial.TlogEntries); n != 1 || b.VerificationMaterial.TlogEntries[0].KindVersion.Version != "0.0.2" ||
			b.VerificationMaterial.TlogEntries[0].KindVersion.Kind != "hashedrekord" {
			t.Fatalf("want one hashedrekord 0.0.2 entry: %+v", b.VerificationMaterial.TlogEntries)
		}
		if c := cosignVerifyAttestation(t, ws, bundle, "slsaprovenance1", wantSAN, art); c.code != 0 {
			t.Fatalf("cosign verify-blob-attestation: %s", c.stderr)
		}
		if c := cachetVerifyAttestation(t, ws, bundle, art, "--type", "slsaprovenance1"); c.code != 0 {
			t.Fatalf("cachet verify-bundle: %s %s", c.stdout, c.stderr)
		}
	})

	// We verify what cosign v3 signs into Rekor v2 through the same signing config.
	t.Run("cosign-signs", func(t *testing.T) {
		art := filepath.Join(ws, "by-cosign.bin")
		writeFile(t, art, "cosign into a tiles log\n")
		cosignSignBlob(t, ws, stack["CACHET_STACK_SIGNING_CONFIG_V2"], art)
		if e := readBundle(t, art+".sigstore.json").VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
			t.Fatalf("cosign did not write a Rekor v2 entry: %+v", e)
		}
		v := run(t, ws, os.Environ(), cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--min-timestamps", "1", art)
		if v.code != 0 {
			t.Fatalf("cachet verify of cosign's v2 bundle: %s %s", v.stdout, v.stderr)
		}
	})

	// With no service flags and no --signing-config, a keyless run follows the signing
	// config `cachet trust import` (or refresh) left in the trust cache: here the one
	// selecting Rekor v2.
	t.Run("trust-cache", func(t *testing.T) {
		export := filepath.Join(ws, "trust.json")
		if r := run(t, ws, os.Environ(), cachetBin, "trust", "export", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--signing-config", stack["CACHET_STACK_SIGNING_CONFIG_V2"], "--out", export); r.code != 0 {
			t.Fatalf("trust export: %s", r.stderr)
		}
		cache := filepath.Join(ws, "trust-cache")
		env := append(jobEnv(t, ws), "CACHET_TRUST_DIR="+cache)
		if r := run(t, ws, env, cachetBin, "trust", "import", export); r.code != 0 {
			t.Fatalf("trust import: %s %s", r.stdout, r.stderr)
		}
		art := filepath.Join(ws, "from-cache.bin")
		writeFile(t, art, "services from the trust cache\n")
		r := run(t, ws, env, cachetBin, "sign", "--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], art)
		if r.code != 0 || !strings.Contains(r.stderr, "(trust cache, imported") || !strings.Contains(r.stderr, "Rekor "+stack["CACHET_STACK_REKOR_V2_URL"]+" (v2)") {
			t.Fatalf("exit %d, want the cached signing config's v2 log: %s %s", r.code, r.stdout, r.stderr)
		}
		if e := readBundle(t, art+".sigstore.json").VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
			t.Fatalf("want one Rekor v2 entry: %+v", e)
		}
		if c := cosignVerify(t, ws, art+".sigstore.json", wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], art); c.code != 0 {
			t.Fatalf("cosign verify-blob: %s", c.stderr)
		}
	})

	t.Run("no-tsa", func(t *testing.T) {
		art := filepath.Join(ws, "untimed.bin")
		writeFile(t, art, "no timestamp\n")
		r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"sign"}, v2Flags(false)...), art)...)
		if r.code != 2 || !strings.Contains(r.stdout, "::error::Rekor v2 entries carry no signed time: an RFC 3161 timestamp is required") {
			t.Fatalf("exit %d, want 2 and the timestamp message: %s %s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(art + ".sigstore.json"); err == nil {
			t.Fatal("a bundle was written")
		}
	})

	t.Run("untrusted-log", func(t *testing.T) {
		art := filepath.Join(ws, "untrusted.bin")
		writeFile(t, art, "log not in the root\n")
		noV2 := trustedRootWithout(t, ws, stack["CACHET_STACK_REKOR_V2_URL"])
		args := v2Flags(true)
		for i := range args {
			if args[i] == stack["CACHET_STACK_TRUSTED_ROOT"] {
				args[i] = noV2
			}
		}
		r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"sign"}, args...), art)...)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "entry is from a log not in the trusted root") {
			t.Fatalf("exit %d, want a failure naming the untrusted log: %s", r.code, r.stderr)
		}
		if m, _ := filepath.Glob(filepath.Join(ws, "untrusted.bin*.sigstore.json*")); len(m) != 0 {
			t.Fatalf("left behind: %v", m)
		}
	})
}
