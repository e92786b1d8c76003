package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/digitorus/timestamp"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	"github.com/google/certificate-transparency-go/x509util"
	"github.com/sigstore/fulcio/pkg/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// testPKI is a Fulcio-shaped CA and a CT log of the test's own, in a trusted root, so
// the tests can issue leaves whose validity and SCT they choose.
type testPKI struct {
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	logKey  *ecdsa.PrivateKey
	tsa     *x509.Certificate // the TSA's leaf, issued by tsaRoot in the trusted root
	tsaRoot *x509.Certificate
	tsaKey  *ecdsa.PrivateKey
	root    *root.TrustedRoot
	now     time.Time
}

const (
	testSAN    = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
	testIssuer = "https://token.actions.githubusercontent.com"
)

func selfSigned(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, pub *ecdsa.PublicKey, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestPKI(t *testing.T, caWindowEnd time.Time) *testPKI {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cache test CA"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	logDER, _ := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	logID := sha256.Sum256(logDER)
	ctlogs := map[string]*root.TransparencyLog{hex.EncodeToString(logID[:]): {
		ID: logID[:], PublicKey: &logKey.PublicKey, HashFunc: 5 /* crypto.SHA256 */, SignatureHashFunc: 5,
		ValidityPeriodStart: now.Add(-24 * time.Hour)}}
	cas := []root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: ca,
		ValidityPeriodStart: now.Add(-24 * time.Hour), ValidityPeriodEnd: caWindowEnd}}
	// A TSA root and its leaf: an end-entity certificate whose one EKU,
	// id-kp-timeStamping, is critical (RFC 3161 2.3).
	tsaRootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tsaRoot := selfSigned(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cache test TSA root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, nil, &tsaRootKey.PublicKey, tsaRootKey)
	tsaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tsa := selfSigned(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "cache test TSA"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}},
		tsaRoot, &tsaKey.PublicKey, tsaRootKey)
	tsas := []root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: tsaRoot, Leaf: tsa,
		ValidityPeriodStart: now.Add(-24 * time.Hour), URI: "https://tsa.test"}}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ctlogs, tsas, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, caKey: caKey, logKey: logKey, tsa: tsa, tsaRoot: tsaRoot, tsaKey: tsaKey, root: tr, now: now}
}

// issue makes a leaf valid from notBefore for ten minutes with an SCT from the test's
// CT log, its signature changed when tamper.
func (p *testPKI) issue(t *testing.T, notBefore time.Time, tamper bool) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return p.issueFor(t, key, notBefore, tamper)
}

// issueFor is issue for a key of the caller's, with the Fulcio identity testSAN and
// issuer testIssuer.
func (p *testPKI) issueFor(t *testing.T, key *ecdsa.PrivateKey, notBefore time.Time, tamper bool) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	u, _ := url.Parse(testSAN)
	exts, err := certificate.Extensions{Issuer: testIssuer, RunnerEnvironment: "github-hosted"}.Render()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, NotBefore: notBefore, NotAfter: notBefore.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs: []*url.URL{u}, ExtraExtensions: exts}
	pre, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	preCert, _ := x509.ParseCertificate(pre)
	logDER, _ := x509.MarshalPKIXPublicKey(&p.logKey.PublicKey)
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: sha256.Sum256(logDER)},
		Timestamp: uint64(notBefore.UnixMilli())}
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{EntryType: ct.PrecertLogEntryType, Timestamp: sct.Timestamp,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(p.ca.RawSubjectPublicKeyInfo), TBSCertificate: preCert.RawTBSCertificate}}}}
	input, err := ct.SerializeSCTSignatureInput(sct, entry)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := cttls.CreateSignature(*p.logKey, cttls.SHA256, input)
	if err != nil {
		t.Fatal(err)
	}
	sct.Signature = ct.DigitallySigned(sig)
	if tamper {
		sct.Signature.Signature[len(sct.Signature.Signature)/2] ^= 0x01
	}
	list, _ := x509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&sct})
	raw, _ := cttls.Marshal(*list)
	val, _ := asn1.Marshal(raw)
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}, Value: val})
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// stampFault is what is wrong with a bundle's timestamp.
type stampFault int

const (
	stampGood       stampFault = iota
	stampOtherSig              // the imprint is of another signature
	stampTamperTime            // one byte of the token changed after signing
)

// bundleFile writes a keyless bundle for artifact: leaf's key signs the artifact's
// digest (another artifact's when badSig), the test TSA stamps the signature at
// stampedAt, and no log entry (the policy skips the log).
func (p *testPKI) bundleFile(t *testing.T, key *ecdsa.PrivateKey, leaf *x509.Certificate, artifact []byte, badSig bool, stampedAt time.Time) string {
	t.Helper()
	return p.bundleFileStamp(t, key, leaf, artifact, badSig, stampedAt, stampGood)
}

func (p *testPKI) bundleFileStamp(t *testing.T, key *ecdsa.PrivateKey, leaf *x509.Certificate, artifact []byte, badSig bool, stampedAt time.Time, fault stampFault) string {
	t.Helper()
	digest := sha256.Sum256(artifact)
	signed := digest
	if badSig {
		signed = sha256.Sum256(append(artifact, '!'))
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	imprint := sha256.Sum256(sig)
	if fault == stampOtherSig {
		imprint = sha256.Sum256(append(sig, 0))
	}
	ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Time: stampedAt,
		Policy: asn1.ObjectIdentifier{1, 2, 3}, Certificates: []*x509.Certificate{p.tsaRoot}, AddTSACertificate: true}
	resp, err := ts.CreateResponseWithOpts(p.tsa, p.tsaKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if fault == stampTamperTime {
		// The genTime's year, inside the signed TSTInfo.
		at := bytes.Index(resp, []byte(stampedAt.UTC().Format("20060102150405")))
		if at < 0 {
			t.Fatal("no genTime in the token")
		}
		resp[at+3]++
	}
	b, err := bundle.New(bundle.MessageSignature{Certificate: leaf.Raw, Digest: digest[:], Signature: sig, Timestamps: [][]byte{resp}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.sigstore.json")
	if err := bundle.WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCachedPathRefusesPerBundleFaults: bundles that share one certificate (the cache
// warm from the first) are each refused for their own fault: a bad signature, a
// timestamp outside the certificate's validity; a good one still verifies, and a
// certificate of the same CA with a bad SCT is refused with sct-invalid.
func TestCachedPathRefusesPerBundleFaults(t *testing.T) {
	p := newTestPKI(t, time.Time{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	start := p.now.Add(-time.Minute)
	leaf := p.issueFor(t, key, start, false)
	badKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	badSCT := p.issueFor(t, badKey, start, true)
	dir := t.TempDir()
	art := filepath.Join(dir, "a.txt")
	content := []byte("one release artifact\n")
	if err := os.WriteFile(art, content, 0o644); err != nil {
		t.Fatal(err)
	}
	pol := &Policy{Identity: testSAN, Issuer: testIssuer, SkipTlog: true, MinTimestamps: 1}
	cases := []struct {
		name   string
		bundle string
		want   Reason // ReasonOK: verifies
	}{
		{"good", p.bundleFile(t, key, leaf, content, false, p.now), ReasonOK},
		{"good again, from the cache", p.bundleFile(t, key, leaf, content, false, p.now.Add(time.Second)), ReasonOK},
		{"same certificate, bad signature", p.bundleFile(t, key, leaf, content, true, p.now), ReasonSignature},
		{"same certificate, timestamp after its validity", p.bundleFile(t, key, leaf, content, false, start.Add(11*time.Minute)), ReasonCertificate},
		{"same certificate, timestamp before its validity", p.bundleFile(t, key, leaf, content, false, start.Add(-time.Second)), ReasonCertificate},
		{"another certificate, bad SCT", p.bundleFile(t, badKey, badSCT, content, false, p.now), ReasonSCT},
		{"same TSA, timestamp of another signature", p.bundleFileStamp(t, key, leaf, content, false, p.now, stampOtherSig), ReasonTimestamp},
		{"same TSA, token changed after signing", p.bundleFileStamp(t, key, leaf, content, false, p.now, stampTamperTime), ReasonTimestamp},
		{"same TSA, after its certificate's validity", p.bundleFile(t, key, leaf, content, false, p.now.Add(25*time.Hour)), ReasonTimestamp},
		{"good after the refusals", p.bundleFile(t, key, leaf, content, false, p.now), ReasonOK},
	}
	cached, err := New(p.root, pol)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		uncached, _ := New(p.root, pol)
		uncached.sg.cache = nil
		s := Subject{Path: art, Bundle: tc.bundle}
		got, want := cached.Verify(t.Context(), s), uncached.Verify(t.Context(), s)
		if got.Verified != (tc.want == ReasonOK) || got.Reason != tc.want {
			t.Errorf("%s: verified %v, reason %q, want %q: %s", tc.name, got.Verified, got.Reason, tc.want, got.Error)
		}
		if got.Verified != want.Verified || got.Reason != want.Reason || got.Error != want.Error {
			t.Errorf("%s: cached and uncached differ:\ncached:   %+v\nuncached: %+v", tc.name, got, want)
		}
	}
	if len(cached.sg.cache.chains) != 2 || len(cached.sg.cache.scts) != 1 || len(cached.sg.cache.tsaChains) != 1 {
		t.Fatalf("cache holds %d chains, %d SCTs and %d TSA chains, want 2 (both certificates chain), 1 (one good SCT) and 1",
			len(cached.sg.cache.chains), len(cached.sg.cache.scts), len(cached.sg.cache.tsaChains))
	}
}

// verifyCA runs one bundle's chain and SCT check through the cache c, as sgVerify does,
// on a fresh parse of leaf (every bundle parses its own).
func verifyCA(t *testing.T, c *trustCache, leaf *x509.Certificate, at time.Time) *bundleState {
	t.Helper()
	fresh, err := x509.ParseCertificate(leaf.Raw)
	if err != nil {
		t.Fatal(err)
	}
	st := &bundleState{requireSCT: true}
	bt := &bundleTrust{TrustedRoot: c.tm, c: c, st: st}
	cas := bt.FulcioCertificateAuthorities()
	if len(cas) != 1 {
		t.Fatalf("%d CAs, want the one caching CA", len(cas))
	}
	if _, err := cas[0].Verify(fresh, at); err != nil && !st.chainFailed {
		t.Fatalf("chain error %v not recorded", err)
	}
	return st
}

func accepted(st *bundleState) bool { return !st.chainFailed && st.sctErr == nil }

// TestCacheRefusesBadSCTOnAnotherCertificate: with the cache warm from a good
// certificate, a second certificate of the same CA whose SCT is tampered is refused, and
// so again (refusals are not cached), while the good one is still accepted.
func TestCacheRefusesBadSCTOnAnotherCertificate(t *testing.T) {
	p := newTestPKI(t, time.Time{})
	c := newTrustCache(p.root)
	good := p.issue(t, p.now.Add(-time.Minute), false)
	bad := p.issue(t, p.now.Add(-time.Minute), true)
	if st := verifyCA(t, c, good, p.now); !accepted(st) {
		t.Fatalf("good certificate refused: chain failed %v, SCT %v", st.chainFailed, st.sctErr)
	}
	if len(c.chains) != 1 || len(c.scts) != 1 {
		t.Fatalf("cache holds %d chains and %d SCTs after one good certificate, want 1 and 1", len(c.chains), len(c.scts))
	}
	for i := range 2 {
		st := verifyCA(t, c, bad, p.now)
		if st.chainFailed || st.sctErr == nil {
			t.Fatalf("try %d: tampered SCT accepted (chain failed %v, SCT %v)", i, st.chainFailed, st.sctErr)
		}
	}
	if len(c.scts) != 1 {
		t.Fatalf("a refused SCT was cached: %d entries", len(c.scts))
	}
	if st := verifyCA(t, c, good, p.now); !accepted(st) {
		t.Fatalf("good certificate refused from the cache: %v", st.sctErr)
	}
}

// TestCacheChecksTimeForEveryBundle: a certificate verified once is still refused at an
// observed time outside its validity (before or after) and outside its CA's window in
// the trusted root, exactly as without the cache.
func TestCacheChecksTimeForEveryBundle(t *testing.T) {
	// The CA's window in the root ends five minutes from the leaf's start.
	start := time.Now().Truncate(time.Second).Add(-time.Minute)
	p := newTestPKI(t, start.Add(5*time.Minute))
	c := newTrustCache(p.root)
	leaf := p.issue(t, start, false)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"inside", start.Add(time.Minute), true},
		{"before the certificate", start.Add(-time.Second), false},
		{"after the certificate", start.Add(11 * time.Minute), false},
		{"after the CA's window", start.Add(6 * time.Minute), false},
		{"inside again", start.Add(2 * time.Minute), true},
		{"zero time", time.Time{}, false},
	} {
		st := verifyCA(t, c, leaf, tc.at)
		if accepted(st) != tc.ok {
			t.Errorf("%s: accepted %v, want %v (chain failed %v, SCT %v)", tc.name, accepted(st), tc.ok, st.chainFailed, st.sctErr)
		}
		// The uncached answer, for comparison.
		fresh, _ := x509.ParseCertificate(leaf.Raw)
		_, err := p.root.FulcioCertificateAuthorities()[0].Verify(fresh, tc.at)
		if (err == nil) != tc.ok {
			t.Errorf("%s: uncached chain verification says %v, the test expects ok=%v", tc.name, err, tc.ok)
		}
	}
	if len(c.chains) != 1 {
		t.Fatalf("cache holds %d chains, want 1", len(c.chains))
	}
}

// TestCacheOnlyForParsedRoots: trusted material that may change (or is not a parsed
// root) gets no cache, so it is verified by sigstore-go alone.
func TestCacheOnlyForParsedRoots(t *testing.T) {
	_, tr := loadVectors(t)
	if newTrustCache(tr) == nil {
		t.Fatal("no cache for a parsed trusted root")
	}
	if newTrustCache(root.TrustedMaterialCollection{tr}) != nil {
		t.Fatal("cache for a trusted material collection")
	}
}

// TestCachedVerifierAgreesWithUncached: with the cache warm from the good bundle, every
// hostile variant of the same bundle (same certificate: a bad signature, a tampered
// artifact, a bad inclusion proof or SET, a grafted body, an untrusted timestamp, no
// time at all) gets the same verdict, reason and message as from a verifier without
// the cache and sigstore-go's own parse, and the good bundles the same result.
func TestCachedVerifierAgreesWithUncached(t *testing.T) {
	v, tr := loadVectors(t)
	art := filepath.Join(td, "artifact.txt")
	good := filepath.Join(td, "artifact.txt.cachet.sigstore.json")
	changed := filepath.Join(t.TempDir(), "changed.txt")
	os.WriteFile(changed, []byte("cachet test artifact!\n"), 0o644)
	flipSig := func(t *testing.T) string {
		return mutate(t, "artifact.txt.cachet.sigstore.json", func(b map[string]any) { flipB64(t, obj(b, "messageSignature"), "signature") })
	}
	cases := []struct {
		name             string
		artifact, bundle func(t *testing.T) string
		policy           func(p *Policy)
	}{
		{name: "good cachet bundle"},
		{name: "good cosign bundle", bundle: func(*testing.T) string { return filepath.Join(td, "artifact.txt.cosign.sigstore.json") }},
		{name: "bad signature", bundle: flipSig},
		{name: "bad signature, timestamps required", bundle: flipSig, policy: func(p *Policy) { p.MinTimestamps = 1 }},
		{name: "tampered artifact", artifact: func(*testing.T) string { return changed }},
		{name: "bad inclusion proof", bundle: func(t *testing.T) string {
			return mutate(t, "artifact.txt.cachet.sigstore.json", func(b map[string]any) { flipB64(t, obj(tlogEntry(b), "inclusionProof"), "rootHash") })
		}},
		{name: "bad SET", bundle: func(t *testing.T) string {
			return mutate(t, "artifact.txt.cachet.sigstore.json", func(b map[string]any) {
				flipB64(t, obj(tlogEntry(b), "inclusionPromise"), "signedEntryTimestamp")
			})
		}},
		{name: "untrusted timestamp", bundle: func(t *testing.T) string {
			return mutate(t, "artifact.txt.cachet.sigstore.json", func(b map[string]any) {
				sig, _ := base64.StdEncoding.DecodeString(obj(b, "messageSignature")["signature"].(string))
				obj(b, "verificationMaterial", "timestampVerificationData")["rfc3161Timestamps"] =
					[]any{map[string]any{"signedTimestamp": foreignTimestamp(t, sig)}}
			})
		}, policy: func(p *Policy) { p.MinTimestamps = 1 }},
		{name: "no time at all", bundle: func(t *testing.T) string {
			return mutate(t, "artifact.txt.cachet.sigstore.json", func(b map[string]any) {
				vm := obj(b, "verificationMaterial")
				delete(vm, "tlogEntries")
				delete(vm, "timestampVerificationData")
			})
		}, policy: func(p *Policy) { p.SkipTlog = true }},
		{name: "wrong identity", policy: func(p *Policy) { p.Identity += "x" }},
		{name: "no CT log in the root, bad signature", bundle: flipSig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := basePolicy(v)
			if tc.policy != nil {
				tc.policy(p)
			}
			a, b := art, good
			if tc.artifact != nil {
				a = tc.artifact(t)
			}
			if tc.bundle != nil {
				b = tc.bundle(t)
			}
			cached, err := New(tr, p)
			if err != nil {
				t.Fatal(err)
			}
			if cached.sg.cache == nil {
				t.Fatal("no cache")
			}
			uncached, _ := New(tr, p)
			uncached.sg.cache = nil
			// Warm the cache with the good bundle's certificate, twice (the second
			// from the cache).
			for range 2 {
				cached.Verify(t.Context(), Subject{Path: art, Bundle: good})
			}
			got := cached.Verify(t.Context(), Subject{Path: a, Bundle: b})
			d, err := os.ReadFile(a)
			var want Result
			if err != nil {
				want = uncached.Verify(t.Context(), Subject{Path: a, Bundle: b})
			} else {
				sum := sha256.Sum256(d)
				lb, lerr := LoadBundle(b)
				if lerr != nil {
					t.Fatal(lerr)
				}
				want = uncached.VerifyBundle(a, sum[:], lb)
				want.Bundle = b
			}
			if got.Verified != want.Verified || got.Reason != want.Reason || got.Error != want.Error ||
				got.Identity != want.Identity || !got.SignedAt.Equal(want.SignedAt) {
				t.Fatalf("cached:   %+v\nuncached: %+v", got, want)
			}
			if len(cached.sg.cache.chains) == 0 {
				t.Fatal("the cache was not used")
			}
		})
	}
}

// TestTSAVerifiedRefusesOtherInputs: with a token accepted (and kept in tsaVerified),
// the same token over another signature, the token with one byte changed, and a token
// of another signature are still refused; the accepted pair is still accepted.
func TestTSAVerifiedRefusesOtherInputs(t *testing.T) {
	p := newTestPKI(t, time.Time{})
	c := newTrustCache(p.root)
	if len(c.tsas) != 1 {
		t.Fatalf("%d TSAs, want 1", len(c.tsas))
	}
	a := c.tsas[0]
	stamp := func(sig []byte) []byte {
		imprint := sha256.Sum256(sig)
		ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Time: p.now,
			Policy: asn1.ObjectIdentifier{1, 2, 3}, Certificates: []*x509.Certificate{p.tsaRoot}, AddTSACertificate: true}
		resp, err := ts.CreateResponseWithOpts(p.tsa, p.tsaKey, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	sig, other := []byte("signature one"), []byte("signature two")
	resp := stamp(sig)
	for range 2 { // the second from tsaVerified
		if _, err := a.Verify(resp, sig); err != nil {
			t.Fatalf("good token refused: %v", err)
		}
	}
	if len(c.tsaVerified) != 1 {
		t.Fatalf("tsaVerified holds %d, want 1", len(c.tsaVerified))
	}
	tampered := bytes.Clone(resp)
	at := bytes.Index(tampered, []byte(p.now.UTC().Format("20060102150405")))
	if at < 0 {
		t.Fatal("no genTime in the token")
	}
	tampered[at+3]++
	for name, in := range map[string][2][]byte{
		"same token, another signature": {resp, other},
		"token changed after signing":   {tampered, sig},
		"token of another signature":    {stamp(other), sig},
	} {
		if _, err := a.Verify(in[0], in[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(c.tsaVerified) != 1 {
		t.Errorf("tsaVerified holds %d after refusals, want 1 (a refusal is never kept)", len(c.tsaVerified))
	}
}

// TestTSAVerifyParsedRefusesOtherSignature: with the TSA chain cached, a token parsed by
// the caller (tsa.Client) is accepted for its own signature only.
func TestTSAVerifyParsedRefusesOtherSignature(t *testing.T) {
	p := newTestPKI(t, time.Time{})
	c := newTrustCache(p.root)
	a := c.tsas[0].(*cachedTSA)
	stamp := func(sig []byte) ([]byte, *timestamp.Timestamp) {
		imprint := sha256.Sum256(sig)
		ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Time: p.now,
			Policy: asn1.ObjectIdentifier{1, 2, 3}, Certificates: []*x509.Certificate{p.tsaRoot}, AddTSACertificate: true}
		resp, err := ts.CreateResponseWithOpts(p.tsa, p.tsaKey, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := timestamp.ParseResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		return resp, parsed
	}
	warm, _ := stamp([]byte("first"))
	if _, err := a.Verify(warm, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if len(c.tsaChains) != 1 {
		t.Fatalf("%d TSA chains cached, want 1", len(c.tsaChains))
	}
	resp, parsed := stamp([]byte("second"))
	if _, err := a.VerifyParsed(parsed, resp, []byte("other")); err == nil {
		t.Fatal("token accepted for another signature")
	}
	if _, err := a.VerifyParsed(parsed, resp, []byte("second")); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
}
