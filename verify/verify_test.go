package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/trust/publicgood"
	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// The vectors in testdata/verify come from scripts/testdata/gen-verify-vectors (see
// testdata/README.md): real bundles from the local stack, by cachet and by cosign.
const td = "../testdata/verify"

type vectors struct {
	Identity, Issuer, Repository, RepositoryID, Ref string
}

func loadVectors(t testing.TB) (vectors, root.TrustedMaterial) {
	t.Helper()
	var v vectors
	b, err := os.ReadFile(filepath.Join(td, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(filepath.Join(td, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return v, tr
}

func basePolicy(v vectors) *Policy {
	return &Policy{Identity: v.Identity, Issuer: v.Issuer, Repository: v.Repository, RepositoryID: v.RepositoryID, Ref: v.Ref}
}

func TestGoodBundlesVerify(t *testing.T) {
	v, tr := loadVectors(t)
	for _, b := range []string{"artifact.txt.cachet.sigstore.json", "artifact.txt.cosign.sigstore.json"} {
		t.Run(b, func(t *testing.T) {
			p := basePolicy(v)
			p.MinTimestamps = 1
			ver, err := New(tr, p)
			if err != nil {
				t.Fatal(err)
			}
			r := ver.Verify(t.Context(), Subject{Path: filepath.Join(td, "artifact.txt"), Bundle: filepath.Join(td, b)})
			if !r.Verified {
				t.Fatalf("not verified: %s", r.Error)
			}
			if r.Identity != v.Identity || r.SignedAt.IsZero() {
				t.Fatalf("result = %+v", r)
			}
			// The same by digest, for an artifact we don't have.
			d, _ := regfile.SHA256(t.Context(), filepath.Join(td, "artifact.txt"))
			r = ver.Verify(t.Context(), Subject{Digest: d, Bundle: filepath.Join(td, b)})
			if !r.Verified {
				t.Fatalf("by digest: %s", r.Error)
			}
		})
	}
}

// mutate writes a copy of a bundle changed by f, the hostile-vector helper.
func mutate(t *testing.T, name string, f func(b map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(td, name))
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	f(b)
	out, _ := json.Marshal(b)
	p := filepath.Join(t.TempDir(), "hostile.sigstore.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeRaw(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "raw.sigstore.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m = m[k].(map[string]any)
	}
	return m
}

func tlogEntry(b map[string]any) map[string]any {
	return obj(b, "verificationMaterial")["tlogEntries"].([]any)[0].(map[string]any)
}

// flipB64 changes one byte of a base64 field.
func flipB64(t *testing.T, m map[string]any, key string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(m[key].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	m[key] = base64.StdEncoding.EncodeToString(raw)
}

// foreignTimestamp makes a valid RFC 3161 response over sig from a TSA nobody trusts.
func foreignTimestamp(t *testing.T, sig []byte) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ekuExt, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rogue TSA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuExt}}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(sig)
	ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Time: time.Now(), Policy: asn1.ObjectIdentifier{1, 2, 3},
		Certificates: []*x509.Certificate{cert}, AddTSACertificate: true}
	resp, err := ts.CreateResponseWithOpts(cert, key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(resp)
}

func TestHostileBundlesFail(t *testing.T) {
	v, tr := loadVectors(t)
	art := filepath.Join(td, "artifact.txt")
	cachet := "artifact.txt.cachet.sigstore.json"
	changed := filepath.Join(t.TempDir(), "changed.txt")
	os.WriteFile(changed, []byte("cachet test artifact!\n"), 0o644)

	tests := []struct {
		name     string
		artifact string
		bundle   func(t *testing.T) string
		policy   func(p *Policy)
		want     Reason
	}{
		{name: "tampered artifact", artifact: changed, want: ReasonDigest},
		{name: "wrong identity", policy: func(p *Policy) {
			p.Identity = "https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main"
		}, want: ReasonIdentity},
		{name: "identity regexp that does not match", policy: func(p *Policy) {
			p.Identity, p.IdentityRegexp = "", `^https://github\.com/other-org/.*$`
		}, want: ReasonIdentity},
		{name: "wrong issuer", policy: func(p *Policy) { p.Issuer = "https://token.actions.githubusercontent.com" }, want: ReasonIssuer},
		{name: "wrong repository id", policy: func(p *Policy) { p.RepositoryID = "987" }, want: ReasonGitHub},
		{name: "wrong repository", policy: func(p *Policy) { p.Repository = "octo-org/other" }, want: ReasonGitHub},
		{name: "wrong ref", policy: func(p *Policy) { p.Ref = "refs/tags/v9" }, want: ReasonGitHub},
		{name: "wrong workflow", policy: func(p *Policy) { p.Workflow = "octo-org/octo-repo/.github/workflows/ci.yml" }, want: ReasonGitHub},
		{name: "wrong event", policy: func(p *Policy) { p.Event = "release" }, want: ReasonGitHub},
		{name: "self-hosted runner", artifact: filepath.Join(td, "selfhosted.txt"),
			bundle: func(t *testing.T) string { return filepath.Join(td, "selfhosted.txt.sigstore.json") }, want: ReasonSelfHosted},
		{name: "bad inclusion proof", bundle: func(t *testing.T) string {
			return mutate(t, cachet, func(b map[string]any) { flipB64(t, obj(tlogEntry(b), "inclusionProof"), "rootHash") })
		}, want: ReasonTlog},
		{name: "bad SET", bundle: func(t *testing.T) string {
			return mutate(t, cachet, func(b map[string]any) { flipB64(t, obj(tlogEntry(b), "inclusionPromise"), "signedEntryTimestamp") })
		}, want: ReasonTlog},
		{name: "mismatched tlog body", bundle: func(t *testing.T) string {
			other, _ := os.ReadFile(filepath.Join(td, "other.txt.sigstore.json"))
			var ob map[string]any
			json.Unmarshal(other, &ob)
			return mutate(t, cachet, func(b map[string]any) {
				tlogEntry(b)["canonicalizedBody"] = tlogEntry(ob)["canonicalizedBody"]
			})
		}, want: ReasonTlog},
		{name: "certificate expired with no timestamp", bundle: func(t *testing.T) string {
			return mutate(t, cachet, func(b map[string]any) {
				vm := obj(b, "verificationMaterial")
				delete(vm, "tlogEntries")
				delete(vm, "timestampVerificationData")
			})
		}, policy: func(p *Policy) { p.SkipTlog = true }, want: ReasonTimestamp},
		{name: "timestamp from an untrusted TSA", bundle: func(t *testing.T) string {
			return mutate(t, cachet, func(b map[string]any) {
				sig, _ := base64.StdEncoding.DecodeString(obj(b, "messageSignature")["signature"].(string))
				obj(b, "verificationMaterial", "timestampVerificationData")["rfc3161Timestamps"] =
					[]any{map[string]any{"signedTimestamp": foreignTimestamp(t, sig)}}
			})
		}, policy: func(p *Policy) { p.MinTimestamps = 1 }, want: ReasonTimestamp},
		{name: "signature of another artifact", bundle: func(t *testing.T) string {
			return mutate(t, cachet, func(b map[string]any) { flipB64(t, obj(b, "messageSignature"), "signature") })
		}, want: ReasonTlog},
		{name: "truncated JSON", bundle: func(t *testing.T) string {
			data, _ := os.ReadFile(filepath.Join(td, cachet))
			return writeRaw(t, data[:len(data)/2])
		}, want: ReasonBundle},
		{name: "garbage", bundle: func(t *testing.T) string { return writeRaw(t, []byte("\x00\xffnot json")) }, want: ReasonBundle},
		{name: "missing bundle", bundle: func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.json") }, want: ReasonBundle},
		{name: "missing artifact", artifact: filepath.Join(td, "nope.txt"), want: ReasonArtifact},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePolicy(v)
			if tc.policy != nil {
				tc.policy(p)
			}
			ver, err := New(tr, p)
			if err != nil {
				t.Fatal(err)
			}
			a, b := art, filepath.Join(td, cachet)
			if tc.artifact != "" {
				a = tc.artifact
			}
			if tc.bundle != nil {
				b = tc.bundle(t)
			}
			r := ver.Verify(t.Context(), Subject{Path: a, Bundle: b})
			if r.Verified {
				t.Fatal("verified a hostile input")
			}
			if r.Reason != tc.want {
				t.Fatalf("reason %q, want %q (%s)", r.Reason, tc.want, r.Error)
			}
		})
	}
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"exact identity and issuer", Policy{Identity: "x", Issuer: "y"}, true},
		{"anchored regexp", Policy{IdentityRegexp: `^https://github\.com/o/.*$`, Issuer: "y"}, true},
		{"unanchored regexp", Policy{IdentityRegexp: `https://github\.com/o/.*`, Issuer: "y"}, false},
		{"only start anchored", Policy{IdentityRegexp: `^https://github\.com/o/`, Issuer: "y"}, false},
		{"escaped dollar is not an anchor", Policy{IdentityRegexp: `^x\$`, Issuer: "y"}, false},
		{"unanchored issuer regexp", Policy{Identity: "x", IssuerRegexp: "token"}, false},
		{"alternative unanchored", Policy{IdentityRegexp: `^a$|.*`, Issuer: "y"}, false},
		{"alternatives each half anchored", Policy{IdentityRegexp: `^https://github\.com/o/r/.*v.*|@refs/heads/main$`, Issuer: "y"}, false},
		{"issuer alternative unanchored", Policy{Identity: "x", IssuerRegexp: `^https://a$|b`}, false},
		{"multi-line mode", Policy{IdentityRegexp: `(?m)^a$`, Issuer: "y"}, false},
		{"anchors inside a group", Policy{IdentityRegexp: `(^a)|(b$)`, Issuer: "y"}, false},
		{"wrapped alternation", Policy{IdentityRegexp: `^(?:a|.*)$`, Issuer: "y"}, true},
		{"every alternative anchored", Policy{IdentityRegexp: `^a$|^b.*$`, Issuer: "y"}, true},
		{"text anchors", Policy{IdentityRegexp: `\Aa\z`, Issuer: "y"}, true},
		{"no identity", Policy{Issuer: "y"}, false},
		{"no issuer", Policy{Identity: "x"}, false},
		{"both identity forms", Policy{Identity: "x", IdentityRegexp: "^x$", Issuer: "y"}, false},
		{"key", Policy{KeyPEM: "pem"}, true},
		{"key and identity", Policy{KeyPEM: "pem", Identity: "x"}, false},
		{"zero policy", Policy{}, false},
		{"repository id not a number", Policy{Identity: "x", Issuer: "y", RepositoryID: "12a"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrPolicy) {
				t.Fatalf("untyped: %v", err)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	y := "certificate-identity-regexp: '^https://github\\.com/octo-org/.*$'\ncertificate-oidc-issuer: https://token.actions.githubusercontent.com\nrepository-id: \"123\"\nmin-timestamps: 1\n"
	p, err := ParsePolicy([]byte(y))
	if err != nil || p.RepositoryID != "123" || p.MinTimestamps != 1 {
		t.Fatalf("YAML: %+v %v", p, err)
	}
	if _, err := ParsePolicy([]byte(`{"certificate-identity":"x","certificate-oidc-issuer":"y","repo-id":"1"}`)); !errors.Is(err, ErrPolicy) {
		t.Fatalf("unknown key accepted: %v", err)
	}
	for name, doc := range map[string]string{
		"duplicate YAML key":  "certificate-identity: x\ncertificate-oidc-issuer: y\nref: refs/heads/main\nref: refs/heads/evil\n",
		"duplicate JSON key":  `{"certificate-identity":"x","certificate-oidc-issuer":"y","ref":"a","ref":"b"}`,
		"upper-case key":      "certificate-identity: x\ncertificate-oidc-issuer: y\nREF: refs/heads/main\n",
		"mixed-case key":      `{"Certificate-Identity":"x","certificate-oidc-issuer":"y"}`,
		"case-variant repeat": "certificate-identity: x\ncertificate-oidc-issuer: y\nref: a\nRef: b\n",
	} {
		if p, err := ParsePolicy([]byte(doc)); !errors.Is(err, ErrPolicy) {
			t.Errorf("%s accepted: %+v %v", name, p, err)
		}
	}
}

func TestVerifyAllKeepsOrderAndReportsEach(t *testing.T) {
	v, tr := loadVectors(t)
	ver, err := New(tr, basePolicy(v))
	if err != nil {
		t.Fatal(err)
	}
	var subs []Subject
	for i := range 40 {
		s := Subject{Path: filepath.Join(td, "artifact.txt"), Bundle: filepath.Join(td, "artifact.txt.cachet.sigstore.json")}
		if i%10 == 3 {
			s.Path = filepath.Join(td, "other.txt")
		}
		s.Name = s.Path + string(rune('A'+i))
		subs = append(subs, s)
	}
	rs := ver.VerifyAll(context.Background(), subs)
	for i, r := range rs {
		if r.Name != subs[i].Name {
			t.Fatalf("result %d is for %s", i, r.Name)
		}
		if want := i%10 != 3; r.Verified != want {
			t.Fatalf("result %d verified=%v (%s)", i, r.Verified, r.Error)
		}
	}
	_ = strings.TrimSpace
}

// TestUnknownLogIsNamed: against a trusted root that does not list the bundle's log (the
// embedded public-good snapshot, for a bundle of the local stack), the failure names the
// log and says the root does not list it, instead of sigstore-go's bare count.
func TestUnknownLogIsNamed(t *testing.T) {
	v, stackRoot := loadVectors(t)
	pg, err := root.NewTrustedRootFromJSON(publicgood.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	// The stack's root lists its Rekor v1 and v2 logs; the bundle's entry is in one.
	var stackLogs []string
	for id := range stackRoot.RekorLogs() {
		stackLogs = append(stackLogs, id)
	}
	ver, err := New(pg, basePolicy(v))
	if err != nil {
		t.Fatal(err)
	}
	r := ver.Verify(t.Context(), Subject{Path: filepath.Join(td, "artifact.txt"), Bundle: filepath.Join(td, "artifact.txt.cachet.sigstore.json")})
	if r.Verified || r.Reason != ReasonTlog {
		t.Fatalf("verified %v, reason %s, want tlog-invalid", r.Verified, r.Reason)
	}
	named := false
	for _, id := range stackLogs {
		named = named || strings.Contains(r.Error, "from log "+id+", which the trusted root does not list")
	}
	if !named {
		t.Fatalf("error does not name the unlisted log (one of %v): %s", stackLogs, r.Error)
	}
}

// TestSCTRequiredWithoutCTLogs: a trusted root that lists no CT log cannot check a
// certificate's SCT, so a keyless bundle fails with sct-invalid and says why; the
// policy's InsecureIgnoreSCT accepts it and the result says the SCT was not checked.
// (Missing, tampered and foreign SCTs: e2e/TestSCTRequired, with a CA of its own.)
func TestSCTRequiredWithoutCTLogs(t *testing.T) {
	v, tr := loadVectors(t)
	stripped, err := root.NewTrustedRoot(root.TrustedRootMediaType01, tr.FulcioCertificateAuthorities(), nil,
		tr.TimestampingAuthorities(), tr.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	s := Subject{Path: filepath.Join(td, "artifact.txt"), Bundle: filepath.Join(td, "artifact.txt.cachet.sigstore.json")}
	for _, tc := range []struct {
		tm     root.TrustedMaterial
		ignore bool
		ok     bool
	}{{tr, false, true}, {stripped, false, false}, {stripped, true, true}} {
		p := basePolicy(v)
		p.InsecureIgnoreSCT = tc.ignore
		ver, err := New(tc.tm, p)
		if err != nil {
			t.Fatal(err)
		}
		r := ver.Verify(t.Context(), s)
		if r.Verified != tc.ok || r.SCTUnchecked != tc.ignore {
			t.Fatalf("CT logs %d, ignore %v: verified %v (want %v), SCT unchecked %v: %s", len(tc.tm.CTLogs()), tc.ignore, r.Verified, tc.ok, r.SCTUnchecked, r.Error)
		}
		if !tc.ok && (r.Reason != ReasonSCT || !strings.Contains(r.Error, "lists no CT log")) {
			t.Fatalf("reason %s, want sct-invalid naming the missing CT log: %s", r.Reason, r.Error)
		}
	}
}

func TestPolicyOverride(t *testing.T) {
	file := &Policy{Identity: "file-id", Ref: "refs/heads/main", MinTimestamps: 2, SkipTlog: true}
	flags := &Policy{Identity: "flag-id", Ref: "", MinTimestamps: 0, Event: "push", AllowUnrecordedRunner: true}
	named := map[string]bool{"certificate-identity": true, "min-timestamps": true, "event": true}
	file.Override(flags, func(k string) bool { return named[k] })
	if file.Identity != "flag-id" || file.Ref != "refs/heads/main" || file.MinTimestamps != 0 || !file.SkipTlog || file.Event != "push" {
		t.Fatalf("override: %+v", file)
	}
	if file.AllowUnrecordedRunner {
		t.Fatal("a field without a policy key was overridden")
	}
}

// TestClassifyByStage: the stage sigstore-go names decides the reason, whatever the
// wrapped error mentions; only the signature stage tells a digest mismatch apart.
func TestClassifyByStage(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Reason
	}{
		{"failed to verify log inclusion: unable to verify SET: invalid signature when validating ASN.1 encoded signature", ReasonTlog},
		{"failed to verify log inclusion: integrated time is before the certificate's timestamp", ReasonTlog},
		{"failed to verify timestamps: threshold not met for verified signed & log entry integrated timestamps: 0 < 1; error: message digest mismatch", ReasonTimestamp},
		{"failed to verify leaf certificate: x509: certificate has expired or is not yet valid", ReasonCertificate},
		{"failed to verify signed certificate timestamp: no valid SCTs", ReasonSCT},
		{"failed to verify signature: artifact does not match digest", ReasonDigest},
		{"failed to verify signature: could not verify artifact: provided artifact digests do not match digests in statement", ReasonDigest},
		{"failed to verify signature: could not verify message: invalid signature when validating ASN.1 encoded signature", ReasonSignature},
		{"failed to verify certificate identity: no matching CertificateIdentity found, last error: expected SAN value \"a\", got \"b\"", ReasonIdentity},
		{"signature time outside of public key validity window", ReasonKey},
		{"failed to get signature verifier: no public key or certificate found", ReasonKey},
		{"no valid observer timestamps found", ReasonTimestamp},
		{"something sigstore-go never says", ReasonInternalFailed},
	} {
		var e *Error
		if !errors.As(classify(errors.New(tc.msg)), &e) || e.Reason != tc.want {
			t.Errorf("%q: reason %v, want %s", tc.msg, e, tc.want)
		}
	}
}
