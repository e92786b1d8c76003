package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tlog"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	"github.com/sigstore/fulcio/pkg/certificate"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
)

var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// sctCA is a certificate authority of the test's own, listed in a copy of the stack's
// trusted root beside Fulcio, that issues Fulcio-shaped leaf certificates whose SCT list
// the test chooses: the only way to get a certificate that a real CA signed and whose
// SCT is missing, tampered or from another log.
type sctCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newSCTCA(t *testing.T) *sctCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cachet e2e SCT CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &sctCA{c, key}
}

// sctKind says what the SCT list of an issued certificate holds.
type sctKind int

const (
	sctValid    sctKind = iota // one SCT from the stack's CT log, over this certificate
	sctNone                    // no SCT list extension at all
	sctTampered                // the stack log's SCT with one signature byte changed
	sctForeign                 // a valid SCT from a CT log the trusted root does not list
)

// issue makes a leaf for pub with identity san and issuer, and an SCT list of kind k
// signed by logKey (the stack's CT log) or, for sctForeign, by a fresh key.
func (ca *sctCA) issue(t *testing.T, pub *ecdsa.PublicKey, san, issuer string, k sctKind, logKey *ecdsa.PrivateKey) []byte {
	t.Helper()
	u, err := url.Parse(san)
	if err != nil {
		t.Fatal(err)
	}
	exts, err := certificate.Extensions{Issuer: issuer}.Render()
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs: []*url.URL{u}, ExtraExtensions: exts,
	}
	pre, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if k == sctNone {
		return pre
	}
	preCert, err := x509.ParseCertificate(pre)
	if err != nil {
		t.Fatal(err)
	}
	if k == sctForeign {
		if logKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	logDER, err := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: sha256.Sum256(logDER)},
		Timestamp: uint64(time.Now().UnixMilli())}
	entry := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{EntryType: ct.PrecertLogEntryType, Timestamp: sct.Timestamp,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(ca.cert.RawSubjectPublicKeyInfo), TBSCertificate: preCert.RawTBSCertificate}}}}
	input, err := ct.SerializeSCTSignatureInput(sct, entry)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := cttls.CreateSignature(*logKey, cttls.SHA256, input) // it takes the key by value
	if err != nil {
		t.Fatal(err)
	}
	sct.Signature = ct.DigitallySigned(sig)
	if k == sctTampered {
		sct.Signature.Signature[len(sct.Signature.Signature)/2] ^= 0x01
	}
	list, err := x509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&sct})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		t.Fatal(err)
	}
	val, err := asn1.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidSCTList, Value: val})
	leaf, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	// The SCT signs the certificate without its SCT list: the two must agree, or the
	// "valid" case would be invalid for the wrong reason.
	lc, err := ctx509.ParseCertificate(leaf)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := ctx509.RemoveSCTList(lc.RawTBSCertificate)
	if err != nil || string(tbs) != string(preCert.RawTBSCertificate) {
		t.Fatalf("the leaf without its SCT list differs from the precertificate (%v)", err)
	}
	return leaf
}

// stackCTKey is the stack's CT log private key (scripts/stack/up writes it encrypted).
func stackCTKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stack["CACHET_STACK_DIR"], "ctlog.key"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("ctlog.key: no PEM block")
	}
	der, err := x509.DecryptPEMBlock(blk, []byte("stack")) //nolint:staticcheck // ct_server's PEMKeyFile format
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// editRoot writes a copy of the stack's trusted root with extra CAs and the CT logs
// edit returns.
func editRoot(t *testing.T, path string, extra []root.CertificateAuthority, ctlogs func(map[string]*root.TransparencyLog) map[string]*root.TransparencyLog) {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(stack["CACHET_STACK_TRUSTED_ROOT"])
	if err != nil {
		t.Fatal(err)
	}
	out, err := root.NewTrustedRoot(root.TrustedRootMediaType01, append(tr.FulcioCertificateAuthorities(), extra...),
		ctlogs(tr.CTLogs()), tr.TimestampingAuthorities(), tr.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameLogs(m map[string]*root.TransparencyLog) map[string]*root.TransparencyLog { return m }
func noLogs(map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	return map[string]*root.TransparencyLog{}
}

// TestSCTRequired: keyless verification needs a valid SCT from a CT log the trusted root
// lists. A certificate with no SCT, a tampered SCT, an SCT from a log the root does not
// list, and a trusted root without CT logs are each refused with reason sct-invalid and
// what is wrong, by cachet verify-bundle and (for the same bundles) cosign, and accepted
// with --insecure-ignore-sct, which the output says. The certificates come from a CA of
// the test's own (listed in the root) so that one CA signs all four; each bundle's
// signature is recorded in the stack's Rekor v1 by cachet's own pipeline. cachet sign's
// self-check refuses to write a bundle its root cannot check the SCT of.
func TestSCTRequired(t *testing.T) {
	ws := t.TempDir()
	art := filepath.Join(ws, "app.tar.gz")
	writeFile(t, art, "sct payload\n")
	digest := sha256.Sum256([]byte("sct payload\n"))
	issuer := stack["CACHET_STACK_OIDC_ISSUER"]
	ca := newSCTCA(t)
	logKey := stackCTKey(t)
	withCA := filepath.Join(ws, "with-ca.json")
	editRoot(t, withCA, []root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: ca.cert,
		ValidityPeriodStart: time.Now().Add(-time.Hour), URI: "https://e2e.invalid"}}, sameLogs)
	tr, err := root.NewTrustedRootFromPath(withCA)
	if err != nil {
		t.Fatal(err)
	}
	rekor := &tlog.Rekor{URL: stack["CACHET_STACK_REKOR_URL"], Trusted: tr}
	bundleFor := func(name string, k sctKind) string {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		p := &sign.Pipeline{Signer: key, Certificate: ca.issue(t, &key.PublicKey, wantSAN, issuer, k, logKey), Rekor: rekor,
			Verify: func(*sgbundle.Bundle, []byte) error { return nil }}
		b := filepath.Join(ws, name+".sigstore.json")
		if res := p.Sign(t.Context(), sign.Subject{Digest: digest[:], Name: name, Bundle: b}); res.Err != nil {
			t.Fatalf("%s: %v", name, res.Err)
		}
		return b
	}
	verifyBundle := func(bundle, trusted string, extra ...string) result {
		return run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + ws}, cachetBin, append([]string{"verify-bundle",
			"--bundle", bundle, "--certificate-identity", wantSAN, "--certificate-oidc-issuer", issuer,
			"--trusted-root", trusted}, append(extra, art)...)...)
	}
	cosign := func(bundle, trusted string) result {
		home := t.TempDir()
		return run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")},
			stack["CACHET_STACK_COSIGN"], "verify-blob", "--bundle", bundle, "--trusted-root", trusted,
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", issuer, art)
	}

	good := bundleFor("valid", sctValid)
	if r := verifyBundle(good, withCA); r.code != 0 || strings.Contains(r.stdout+r.stderr, "SCT not checked") {
		t.Fatalf("a valid SCT: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if c := cosign(good, withCA); c.code != 0 {
		t.Fatalf("cosign, a valid SCT: %s", c.stderr)
	}
	if c := sigstoreJSRoot(t, ws, withCA, good, art, keylessWho()...); c.code != 0 {
		t.Fatalf("sigstore-js, a valid SCT: %s%s", c.stdout, c.stderr)
	}

	// A bundle the stack's Fulcio made, for the root without CT logs.
	fulcioWS := t.TempDir()
	fart := filepath.Join(fulcioWS, "app.tar.gz")
	writeFile(t, fart, "sct payload\n")
	if r := run(t, fulcioWS, jobEnv(t, fulcioWS), cachetBin, append([]string{"sign", "--audit-log", "-"}, append(stackFlags(), fart)...)...); r.code != 0 {
		t.Fatalf("cachet sign: exit %d\n%s", r.code, r.stderr)
	}
	noCT := filepath.Join(ws, "no-ct.json")
	editRoot(t, noCT, nil, noLogs)

	for _, tc := range []struct {
		name, bundle, trusted, why string
	}{
		{"no SCT", bundleFor("none", sctNone), withCA, "the certificate carries no SCT"},
		{"tampered SCT", bundleFor("tampered", sctTampered), withCA, "does not verify with that log's key"},
		{"SCT from a log the root does not list", bundleFor("foreign", sctForeign), withCA, "which the trusted root does not list"},
		{"a root without CT logs", fart + ".sigstore.json", noCT, "the trusted root lists no CT log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyBundle(tc.bundle, tc.trusted)
			if out := r.stdout + r.stderr; r.code != 1 || !strings.Contains(out, "sct-invalid") || !strings.Contains(out, tc.why) {
				t.Fatalf("exit %d, want 1 with sct-invalid and %q\n%s\n%s", r.code, tc.why, r.stdout, r.stderr)
			}
			if c := cosign(tc.bundle, tc.trusted); c.code == 0 {
				t.Fatalf("cosign accepts it: the case is not what it claims\n%s", c.stderr)
			}
			if c := sigstoreJSRoot(t, ws, tc.trusted, tc.bundle, art, keylessWho()...); c.code != 1 {
				t.Fatalf("sigstore-js: exit %d, want a refusal\n%s%s", c.code, c.stdout, c.stderr)
			}
			r = verifyBundle(tc.bundle, tc.trusted, "--insecure-ignore-sct")
			if out := r.stdout + r.stderr; r.code != 0 || !strings.Contains(out, "SCT not checked") || !strings.Contains(out, "SCTs are not checked") {
				t.Fatalf("--insecure-ignore-sct: exit %d, want 0 and the output saying so\n%s\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}

	// cachet sign checks the bundle as a verifier would before writing it: with a root
	// that lists no CT log it writes nothing, unless told to ignore SCTs.
	t.Run("sign's self-check", func(t *testing.T) {
		sws := t.TempDir()
		sart := filepath.Join(sws, "app.tar.gz")
		writeFile(t, sart, "sct payload\n")
		flags := stackFlags()
		for i := range flags {
			if flags[i] == "--trusted-root" {
				flags[i+1] = noCT
			}
		}
		r := run(t, sws, jobEnv(t, sws), cachetBin, append([]string{"sign", "--audit-log", "-"}, append(flags, sart)...)...)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "no valid SCT") || !strings.Contains(r.stdout+r.stderr, "lists no CT log") {
			t.Fatalf("sign, root without CT logs: exit %d, want 1 naming the SCT\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(sart + ".sigstore.json"); !os.IsNotExist(err) {
			t.Fatalf("a bundle was written: %v", err)
		}
		r = run(t, sws, jobEnv(t, sws), cachetBin, append([]string{"sign", "--audit-log", "-", "--insecure-ignore-sct"}, append(flags, sart)...)...)
		if r.code != 0 {
			t.Fatalf("sign --insecure-ignore-sct: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}
