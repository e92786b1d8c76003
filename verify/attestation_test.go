package verify

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// conformance holds the sigstore-conformance bundle-verify cases (see
// testdata/conformance/README.md); the harness's default identity and issuer sign them.
const (
	conformance         = "../testdata/conformance/bundle-verify"
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/" +
		"workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer = "https://token.actions.githubusercontent.com"
)

func conformanceCase(t *testing.T, name string) (root.TrustedMaterial, string) {
	t.Helper()
	dir := filepath.Join(conformance, name)
	tr, err := root.NewTrustedRootFromPath(filepath.Join(dir, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tr, filepath.Join(dir, "bundle.sigstore.json")
}

func fileDigest(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(b)
	return d[:]
}

// TestPredicateTypePolicy: an attestation is accepted only when the policy asks for its
// predicate type or for AnyPredicateType, and only for an artifact the statement names
// as a subject; a plain signature passes "any" but not a named type.
func TestPredicateTypePolicy(t *testing.T) {
	dsseRoot, dsse := conformanceCase(t, "rekor2-dsse-happy-path")
	sigRoot, sig := conformanceCase(t, "rekor2-happy-path")
	subject := fileDigest(t, filepath.Join(conformance, "a.txt"))
	other := sha256.Sum256([]byte("not a subject"))
	for _, tc := range []struct {
		name     string
		tm       root.TrustedMaterial
		bundle   string
		typ      string
		digest   []byte
		want     Reason
		wantType string
	}{
		{"attestation, no type", dsseRoot, dsse, "", subject, ReasonPredicateType, SLSAProvenanceV1},
		{"attestation, any", dsseRoot, dsse, AnyPredicateType, subject, ReasonOK, SLSAProvenanceV1},
		{"attestation, another type", dsseRoot, dsse, "spdx", subject, ReasonPredicateType, SLSAProvenanceV1},
		{"attestation, any, not a subject", dsseRoot, dsse, AnyPredicateType, other[:], ReasonSubject, ""},
		{"signature, no type", sigRoot, sig, "", subject, ReasonOK, ""},
		{"signature, any", sigRoot, sig, AnyPredicateType, subject, ReasonOK, ""},
		{"signature, any, other artifact", sigRoot, sig, AnyPredicateType, other[:], ReasonDigest, ""},
		{"signature, a type", sigRoot, sig, "slsaprovenance1", subject, ReasonPredicateType, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.tm, &Policy{Identity: conformanceIdentity, Issuer: conformanceIssuer, PredicateType: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			b, err := LoadBundle(tc.bundle)
			if err != nil {
				t.Fatal(err)
			}
			r := v.VerifyBundle(tc.name, tc.digest, b)
			if r.Reason != tc.want || r.Verified != (tc.want == ReasonOK) {
				t.Fatalf("verified %v, reason %q (%s), want %q", r.Verified, r.Reason, r.Error, tc.want)
			}
			if r.PredicateType != tc.wantType {
				t.Errorf("predicate type %q, want %q", r.PredicateType, tc.wantType)
			}
		})
	}
}

// TestAnyIsAValidPolicyType: "any" passes Validate and ParsePolicy (type: any in a
// policy file is how cachet verify accepts every attestation), while an unknown short
// name is still refused.
func TestAnyIsAValidPolicyType(t *testing.T) {
	p, err := ParsePolicy([]byte("certificate-identity: a\ncertificate-oidc-issuer: b\ntype: any\n"))
	if err != nil || p.PredicateType != AnyPredicateType {
		t.Fatalf("ParsePolicy(type: any) = %+v, %v", p, err)
	}
	if err := (&Policy{Identity: "a", Issuer: "b", PredicateType: "anything"}).Validate(); err == nil {
		t.Fatal("type anything was accepted")
	}
}

// TestUnrecordedRunner: a certificate without the runner-environment extension fails
// the github-hosted rule unless AllowUnrecordedRunner; that option never admits a
// certificate that records a self-hosted runner.
func TestUnrecordedRunner(t *testing.T) {
	tm, bundlePath := conformanceCase(t, "intoto-with-custom-trust-root")
	digest := fileDigest(t, filepath.Join(conformance, "intoto-with-custom-trust-root", "artifact"))
	b, err := LoadBundle(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{false, true} {
		v, err := New(tm, &Policy{Identity: conformanceIdentity, Issuer: conformanceIssuer, PredicateType: AnyPredicateType, AllowUnrecordedRunner: allow})
		if err != nil {
			t.Fatal(err)
		}
		r := v.VerifyBundle("custom", digest, b)
		if allow && !r.Verified || !allow && r.Reason != ReasonSelfHosted {
			t.Fatalf("AllowUnrecordedRunner=%v: verified %v, reason %q (%s)", allow, r.Verified, r.Reason, r.Error)
		}
	}

	vec, tr := loadVectors(t)
	p := basePolicy(vec)
	p.AllowUnrecordedRunner = true
	v, err := New(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	r := v.Verify(t.Context(), Subject{Path: filepath.Join(td, "selfhosted.txt"), Bundle: filepath.Join(td, "selfhosted.txt.sigstore.json")})
	if r.Reason != ReasonSelfHosted {
		t.Fatalf("a self-hosted certificate with AllowUnrecordedRunner: verified %v, reason %q (%s)", r.Verified, r.Reason, r.Error)
	}
}
