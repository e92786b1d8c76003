package sign

import (
	"fmt"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// KeylessCheck returns a Pipeline.Verify that verifies a bundle as a consumer would with
// sigstore-go: certificate chain to a trusted Fulcio CA, the exact SAN and issuer, the
// transparency-log entry and its integrated time, SCTs when the trusted root has CT
// logs, and every RFC 3161 timestamp the bundle carries.
func KeylessCheck(tm root.TrustedMaterial, san, issuer string, timestamps int) (func(*sgbundle.Bundle, []byte) error, error) {
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	if timestamps > 0 {
		opts = append(opts, verify.WithSignedTimestamps(timestamps))
	}
	v, err := verify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, err
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		return nil, err
	}
	return func(b *sgbundle.Bundle, digest []byte) error {
		_, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id)))
		if err != nil {
			return fmt.Errorf("sigstore-go: %w", err)
		}
		return nil
	}, nil
}
