package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cosignVerifyAttestation runs cosign verify-blob-attestation against the stack's trusted
// root, with cosign's default checks (an SCT from the stack's CT log included).
func cosignVerifyAttestation(t *testing.T, dir, bundle, typ, identity, artifact string) result {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")}
	return run(t, dir, env, stack["CACHET_STACK_COSIGN"], "verify-blob-attestation", "--bundle", bundle,
		"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], "--certificate-identity", identity,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--type", typ, artifact)
}

// cachetVerifyAttestation runs cachet verify-bundle with the attestation flags.
func cachetVerifyAttestation(t *testing.T, dir, bundle, artifact string, extra ...string) result {
	t.Helper()
	args := append([]string{"verify-bundle", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
		"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
		"--bundle", bundle}, extra...)
	return run(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, cachetBin, append(args, artifact)...)
}

// rewritePayload applies edit to the in-toto statement inside a bundle's DSSE envelope
// and writes the result to out, leaving signature, log entry and timestamps as they are.
func rewritePayload(t *testing.T, in, out string, edit func(st map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	edit(st)
	payload, _ = json.Marshal(st)
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	raw, _ = json.Marshal(b)
	writeFile(t, out, string(raw))
}

// TestAttestProvenanceCosignVerifies is issue 9's blob path: a job attests two files in
// one SLSA provenance statement on the local stack; cosign verify-blob-attestation
// --type slsaprovenance1 and cachet verify accept each file; a changed statement, a
// changed subject digest, a changed predicate type, an artifact that is no subject,
// another --type, another builder or source repository are each refused with a reason.
func TestAttestProvenanceCosignVerifies(t *testing.T) {
	ws := t.TempDir()
	a, b := filepath.Join(ws, "app.tar.gz"), filepath.Join(ws, "app.sbom")
	writeFile(t, a, "release payload\n")
	writeFile(t, b, "second release file\n")
	bundle := filepath.Join(ws, "provenance.sigstore.json")
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"attest", "--bundle", bundle}, stackFlags()...),
		"--subject-path", a, "--subject-path", b)...)
	if r.code != 0 {
		t.Fatalf("cachet attest exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	out, _ := os.ReadFile(filepath.Join(ws, "github_output"))
	for _, want := range []string{"bundle-path<<", bundle, "attestation-digest<<", "sha256:", "certificate-identity<<", wantSAN} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("GITHUB_OUTPUT lacks %q:\n%s", want, out)
		}
	}
	var bj struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				KindVersion struct{ Kind, Version string } `json:"kindVersion"`
			} `json:"tlogEntries"`
			TimestampVerificationData struct {
				Rfc3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
		DsseEnvelope struct {
			PayloadType string `json:"payloadType"`
			Payload     []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	raw, _ := os.ReadFile(bundle)
	if err := json.Unmarshal(raw, &bj); err != nil {
		t.Fatal(err)
	}
	vm := bj.VerificationMaterial
	if len(vm.TlogEntries) != 1 || vm.TlogEntries[0].KindVersion.Kind != "dsse" || vm.TlogEntries[0].KindVersion.Version != "0.0.1" ||
		len(vm.TimestampVerificationData.Rfc3161Timestamps) != 1 || bj.DsseEnvelope.PayloadType != "application/vnd.in-toto+json" {
		t.Fatalf("bundle: want one dsse 0.0.1 entry, one timestamp, an in-toto envelope:\n%s", raw)
	}
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			BuildDefinition struct {
				ExternalParameters struct {
					Workflow map[string]string `json:"workflow"`
				} `json:"externalParameters"`
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder  struct{ ID string } `json:"builder"`
				Metadata struct {
					InvocationID string `json:"invocationId"`
				} `json:"metadata"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(bj.DsseEnvelope.Payload, &st); err != nil {
		t.Fatal(err)
	}
	p := st.Predicate
	if len(st.Subject) != 2 || st.Subject[0].Name != "app.tar.gz" || st.PredicateType != "https://slsa.dev/provenance/v1" ||
		p.RunDetails.Builder.ID != wantSAN ||
		p.BuildDefinition.ExternalParameters.Workflow["repository"] != "https://github.com/octo-org/octo-repo" ||
		p.BuildDefinition.ExternalParameters.Workflow["path"] != ".github/workflows/release.yml" ||
		p.BuildDefinition.ExternalParameters.Workflow["ref"] != "refs/heads/main" ||
		len(p.BuildDefinition.ResolvedDependencies) != 1 ||
		p.BuildDefinition.ResolvedDependencies[0].URI != "git+https://github.com/octo-org/octo-repo@refs/heads/main" ||
		p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] == "" ||
		p.RunDetails.Metadata.InvocationID != "https://github.com/octo-org/octo-repo/actions/runs/4242424242/attempts/1" {
		t.Fatalf("statement: %s", bj.DsseEnvelope.Payload)
	}

	for _, art := range []string{a, b} {
		if v := cosignVerifyAttestation(t, ws, bundle, "slsaprovenance1", wantSAN, art); v.code != 0 {
			t.Fatalf("cosign verify-blob-attestation rejected %s: %s%s", art, v.stdout, v.stderr)
		}
		if v := cachetVerifyAttestation(t, ws, bundle, art, "--type", "slsaprovenance1", "--repository", "octo-org/octo-repo",
			"--workflow", "octo-org/octo-repo/.github/workflows/release.yml"); v.code != 0 {
			t.Fatalf("cachet verify rejected %s: %s%s", art, v.stdout, v.stderr)
		}
	}

	// Tampering with the signed statement.
	tampered := map[string]func(map[string]any){
		"statement": func(st map[string]any) {
			st["predicate"].(map[string]any)["runDetails"].(map[string]any)["builder"].(map[string]any)["id"] = "https://evil.example/builder"
		},
		"subject digest": func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)["sha256"] = strings.Repeat("0", 64)
		},
		"predicate type": func(st map[string]any) { st["predicateType"] = "https://spdx.dev/Document" },
	}
	for what, edit := range tampered {
		bad := filepath.Join(ws, strings.ReplaceAll(what, " ", "-")+".sigstore.json")
		rewritePayload(t, bundle, bad, edit)
		if v := cosignVerifyAttestation(t, ws, bad, "slsaprovenance1", wantSAN, a); v.code == 0 {
			t.Errorf("tampered %s: cosign accepted it", what)
		}
		v := cachetVerifyAttestation(t, ws, bad, a, "--type", "slsaprovenance1")
		if v.code != 1 || !strings.Contains(v.stderr, "signature-invalid") && !strings.Contains(v.stderr, "tlog-invalid") {
			t.Errorf("tampered %s: cachet exit %d, want a signature or log reason: %s", what, v.code, v.stderr)
		}
		t.Logf("tampered %s: %s", what, strings.TrimSpace(v.stderr))
	}

	// Policy refusals on the genuine bundle.
	other := filepath.Join(ws, "other.bin")
	writeFile(t, other, "not attested")
	refusals := []struct {
		name, artifact, reason string
		extra                  []string
	}{
		{"artifact is no subject", other, "subject-mismatch", []string{"--type", "slsaprovenance1"}},
		{"artifact is no subject, no --type", other, "subject-mismatch", nil},
		{"another --type", a, "predicate-type-mismatch", []string{"--type", "spdx"}},
		{"another builder", a, "provenance-mismatch", []string{"--type", "slsaprovenance1", "--builder-id", "https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main"}},
		{"another source", a, "provenance-mismatch", []string{"--type", "slsaprovenance1", "--repository", "octo-org/fork"}},
	}
	for _, rf := range refusals {
		v := cachetVerifyAttestation(t, ws, bundle, rf.artifact, rf.extra...)
		if v.code != 1 || !strings.Contains(v.stderr, rf.reason) {
			t.Errorf("%s: exit %d, want reason %s: %s", rf.name, v.code, rf.reason, v.stderr)
		}
	}
	// verify-bundle, like cosign verify-blob, accepts the attestation for a subject
	// without --type; cachet verify (the deploy job) refuses it unless the type is named
	// or is "any".
	if v := cachetVerifyAttestation(t, ws, bundle, b); v.code != 0 || !strings.Contains(v.stdout, "(attestation https://slsa.dev/provenance/v1)") {
		t.Errorf("verify-bundle without --type: exit %d: %s%s", v.code, v.stdout, v.stderr)
	}
	content, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	deploy := func(extra ...string) result {
		args := append([]string{"verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"]}, extra...)
		return run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + ws}, cachetBin, append(args, "sha256:"+hex.EncodeToString(sum[:])+"="+bundle)...)
	}
	if v := deploy(); v.code != 1 || !strings.Contains(v.stdout, "predicate-type-mismatch") {
		t.Errorf("cachet verify without --type: exit %d, want predicate-type-mismatch: %s%s", v.code, v.stdout, v.stderr)
	}
	if v := deploy("--type", "any"); v.code != 0 {
		t.Errorf("cachet verify --type any: exit %d: %s%s", v.code, v.stdout, v.stderr)
	}
	if v := cosignVerifyAttestation(t, ws, bundle, "slsaprovenance1", wantSAN, other); v.code == 0 {
		t.Error("cosign accepted an artifact that is no subject")
	}
	if v := cosignVerifyAttestation(t, ws, bundle, "spdx", wantSAN, a); v.code == 0 {
		t.Error("cosign accepted --type spdx for provenance")
	}
}

// TestAttestSBOMPredicate: a predicate file with its type (SPDX) is carried byte for
// byte, large integers included, and verifies with cosign --type spdx.
func TestAttestSBOMPredicate(t *testing.T) {
	ws := t.TempDir()
	a := filepath.Join(ws, "app.tar.gz")
	writeFile(t, a, "release payload\n")
	pred := filepath.Join(ws, "sbom.spdx.json")
	writeFile(t, pred, `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app", "big": 9007199254740993}`)
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"attest"}, stackFlags()...),
		"--predicate-type", "spdx", "--predicate-path", pred, "--subject-path", a)...)
	if r.code != 0 {
		t.Fatalf("cachet attest exit %d: %s", r.code, r.stderr)
	}
	bundle := a + ".intoto.sigstore.json"
	raw, _ := os.ReadFile(bundle)
	var bj struct {
		DsseEnvelope struct{ Payload []byte } `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &bj); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bj.DsseEnvelope.Payload, []byte(`"big":9007199254740993`)) {
		t.Fatalf("predicate not carried exactly: %s", bj.DsseEnvelope.Payload)
	}
	if v := cosignVerifyAttestation(t, ws, bundle, "spdx", wantSAN, a); v.code != 0 {
		t.Fatalf("cosign: %s%s", v.stdout, v.stderr)
	}
	if v := cachetVerifyAttestation(t, ws, bundle, a, "--type", "https://spdx.dev/Document"); v.code != 0 {
		t.Fatalf("cachet verify: %s", v.stderr)
	}
}

// TestAttestBadInputLeavesNothing: a predicate that is not JSON, a predicate type cachet
// does not know, and a subject that does not exist are usage errors before anything is
// signed, and leave no bundle.
func TestAttestBadInputLeavesNothing(t *testing.T) {
	ws := t.TempDir()
	a := filepath.Join(ws, "app.tar.gz")
	writeFile(t, a, "release payload\n")
	notJSON := filepath.Join(ws, "bad.json")
	writeFile(t, notJSON, `{"spdxVersion": "SPDX-2.3",`)
	arr := filepath.Join(ws, "array.json")
	writeFile(t, arr, `[1, 2]`)
	good := filepath.Join(ws, "good.json")
	writeFile(t, good, `{"k": "v"}`)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"predicate not JSON", []string{"--predicate-type", "spdx", "--predicate-path", notJSON}, "not valid JSON"},
		{"predicate not an object", []string{"--predicate-type", "cyclonedx", "--predicate-path", arr}, "must be a JSON object"},
		{"unknown predicate type", []string{"--predicate-type", "https://example.com/custom/v1", "--predicate-path", good}, "--allow-unknown-predicate"},
		{"unknown short name", []string{"--predicate-type", "sbom", "--predicate-path", good}, "unknown predicate type"},
		{"missing subject", []string{"--subject-path", filepath.Join(ws, "nope")}, "nope"},
		{"bad digest", []string{"--subject-name", "x", "--subject-digest", "sha256:abc"}, "64 hex digits"},
	}
	for _, c := range cases {
		args := append(append([]string{"attest", "--audit-log", filepath.Join(ws, "audit")}, stackFlags()...), c.args...)
		if !strings.Contains(strings.Join(c.args, " "), "subject-") {
			args = append(args, "--subject-path", a)
		}
		r := run(t, ws, jobEnv(t, ws), cachetBin, args...)
		if r.code != 2 || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%s: exit %d, want 2 and %q: %s%s", c.name, r.code, c.want, r.stdout, r.stderr)
		}
		if _, err := os.Stat(a + ".intoto.sigstore.json"); err == nil {
			t.Fatalf("%s: a bundle was left", c.name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(ws, "*sigstore*")); len(m) != 0 {
		t.Fatalf("files left: %v", m)
	}
	// The same unknown type is accepted when allowed explicitly.
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"attest"}, stackFlags()...),
		"--predicate-type", "https://example.com/custom/v1", "--allow-unknown-predicate", "--predicate-path", good, "--subject-path", a)...)
	if r.code != 0 {
		t.Fatalf("allowed unknown type: exit %d: %s", r.code, r.stderr)
	}
}
