package sign

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/tlog"
	cverify "github.com/cachet-sign/cachet/verify"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrSCT: the certificate Fulcio issued has no SCT this trusted root can verify, so the
// bundle would fail every verifier that requires one (cosign, sigstore-go, cachet).
var ErrSCT = errors.New("the certificate has no valid SCT from a CT log in the trusted root")

// KeylessCheck returns a Pipeline.Verify that verifies a bundle as a consumer would with
// sigstore-go: certificate chain to a trusted Fulcio CA, the exact SAN and issuer, the
// transparency-log entry (and its integrated time when the log signs one: Rekor v1),
// an SCT from a CT log the trusted root lists (unless ignoreSCT), and every RFC 3161
// timestamp the bundle carries. A log without integrated times (Rekor v2) needs at
// least one timestamp.
func KeylessCheck(tm root.TrustedMaterial, san, issuer string, timestamps int, integratedTime, ignoreSCT bool) (func(*sgbundle.Bundle, []byte) error, error) {
	kc, err := newKeylessCheck(tm, san, issuer, timestamps, integratedTime, ignoreSCT)
	if err != nil {
		return nil, err
	}
	return kc.bundle, nil
}

// keylessCheck is KeylessCheck's check, with the sigstore-go check behind it. Every
// bundle of a run carries the same leaf certificate, so its chain to the Fulcio CA and
// its SCT are signatures over identical bytes: cverify.SigstoreCheck verifies them for
// the first bundle and, for the others, only what depends on the bundle (every
// certificate valid at the bundle's times, the CA's window). The same goes for the
// TSA's certificate chain; the token's CMS signature and imprint are checked for every
// bundle, and a token the run's TSA client has already accepted for this signature
// (the same bytes, through the TSAs of sc.TimestampingAuthorities) is not verified a
// second time. The signature over the digest, the log entry (SET, inclusion proof,
// checkpoint, body) and the identity are verified for every bundle.
//
// Before all that, the bundle's JSON, the bytes to be written, goes through cachet
// verify's fast path (fastpath.go) sharing sc's cache: it only accepts, and only what
// the check above accepts (its header says why for this check's options too); when it
// does not, the check above decides, with its errors.
type keylessCheck struct {
	tm   root.TrustedMaterial
	sc   *cverify.SigstoreCheck
	id   verify.CertificateIdentity
	fast *cverify.Verifier // the fast path on the bundle's bytes; nil when it cannot be built
}

func newKeylessCheck(tm root.TrustedMaterial, san, issuer string, timestamps int, integratedTime, ignoreSCT bool) (*keylessCheck, error) {
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1)}
	switch {
	case integratedTime:
		opts = append(opts, verify.WithIntegratedTimestamps(1))
	case timestamps == 0:
		return nil, fmt.Errorf("keyless check: %w", tlog.ErrNeedsTimestamp)
	}
	if timestamps > 0 {
		opts = append(opts, verify.WithSignedTimestamps(timestamps))
	}
	sc, err := cverify.NewSigstoreCheck(tm, !ignoreSCT, opts...)
	if err != nil {
		return nil, err
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		return nil, err
	}
	k := &keylessCheck{tm: tm, sc: sc, id: id}
	// The fast path takes a Rekor v1 entry (its SET gives the integrated time) or a v2
	// entry with as many timestamps as asked, at least one; without it the run is only
	// slower.
	k.fast, _ = cverify.NewSharing(sc, &cverify.Policy{Identity: san, Issuer: issuer, MinTimestamps: timestamps, InsecureIgnoreSCT: ignoreSCT})
	return k, nil
}

// accepts is the Pipeline.accepts: the fast path on the bundle's bytes.
func (k *keylessCheck) accepts(data, digest []byte) bool {
	return k.fast != nil && k.fast.FastAccepts(digest, data)
}

// bundle is the Pipeline.Verify.
func (k *keylessCheck) bundle(b *sgbundle.Bundle, digest []byte) error {
	return k.parsed(&bundle.Parsed{Bundle: b}, digest)
}

// parsed is the Pipeline.verifyParsed: bundle, for a bundle whose log entries were
// parsed when it was made.
func (k *keylessCheck) parsed(p *bundle.Parsed, digest []byte) error {
	_, err := k.sc.Verify(p, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(k.id)))
	if why, ok := cverify.SCTFailure(k.tm, p.Bundle, err); ok {
		return fmt.Errorf("%w: %s: sigstore-go: %w", ErrSCT, why, err)
	}
	if err != nil {
		return fmt.Errorf("sigstore-go: %w", err)
	}
	return nil
}

// KeyCheck returns a Pipeline.Verify for key mode: the signature over the digest with
// pub (PKCS#1 v1.5 for RSA unless pss, SHA-256 for every key, as cosign verify-blob
// --key checks it), the given number of RFC 3161 timestamps from the trusted root's
// TSAs, and, when tlog is set, the transparency-log entry.
func KeyCheck(tm root.TrustedMaterial, pub crypto.PublicKey, pss bool, timestamps int, tlog bool) (func(*sgbundle.Bundle, []byte) error, error) {
	var sv signature.Verifier
	var err error
	if rk, ok := pub.(*rsa.PublicKey); ok && pss {
		sv, err = signature.LoadRSAPSSVerifier(rk, crypto.SHA256, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sv, err = signature.LoadVerifier(pub, crypto.SHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("key check: %w", err)
	}
	keyMat := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	var opts []verify.VerifierOption
	if tlog {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if timestamps > 0 {
		opts = append(opts, verify.WithSignedTimestamps(timestamps))
	}
	if len(opts) == 0 {
		return nil, errors.New("key check: a key bundle needs a timestamp or a log entry to say when it was signed")
	}
	v, err := verify.NewVerifier(root.TrustedMaterialCollection{tm, keyMat}, opts...)
	if err != nil {
		return nil, err
	}
	return func(b *sgbundle.Bundle, digest []byte) error {
		if _, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())); err != nil {
			return fmt.Errorf("sigstore-go: %w", err)
		}
		return nil
	}, nil
}
