package tsa

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// ErrOutsideValidity means a token's genTime is not inside the signing certificate's
// validity: the token does not prove the signature was made while the certificate held.
var ErrOutsideValidity = errors.New("tsa: timestamp outside the signing certificate's validity")

// VerifyLongTermValidity reports whether token (a DER TimeStampResp, as Sigstore bundles
// carry it) proves that signature existed while signingCert was valid: the token must
// verify against one of trusted (CMS signature, chain, critical timeStamping EKU, the
// TSA's validity window in the trusted root), its message imprint must be the SHA-256
// of signature (Sigstore's convention), and its genTime must lie inside
// [signingCert.NotBefore, signingCert.NotAfter]. This is what keeps a signature made
// with a short-lived certificate verifiable after the certificate expires.
//
// The result is true with a nil error, or false with an error saying why.
func VerifyLongTermValidity(token, signature []byte, signingCert *x509.Certificate, trusted []root.TimestampingAuthority) (bool, error) {
	if signingCert == nil {
		return false, errors.New("tsa: no signing certificate")
	}
	if len(trusted) == 0 {
		return false, errors.New("tsa: no trusted timestamp authority")
	}
	var errs []error
	for _, ta := range trusted {
		ts, err := ta.Verify(token, signature)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ts.Time.Before(signingCert.NotBefore) || ts.Time.After(signingCert.NotAfter) {
			return false, fmt.Errorf("%w: genTime %s, certificate valid %s to %s", ErrOutsideValidity,
				ts.Time.UTC().Format("2006-01-02T15:04:05Z"), signingCert.NotBefore.UTC().Format("2006-01-02T15:04:05Z"),
				signingCert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
		}
		return true, nil
	}
	return false, fmt.Errorf("tsa: token does not verify against any trusted timestamp authority: %w", errors.Join(errs...))
}
