package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// ErrKeyBundle is a bundle signed with a key, not a certificate: it names no identity
// to pin.
var ErrKeyBundle = errors.New("a key-based bundle names no identity to pin")

// PolicyForBundle is PolicyFor the certificate of the bundle at path. A bundle that
// does not load is an *Error (ReasonBundle); a key-based one is ErrKeyBundle.
func PolicyForBundle(path string, anyRef bool) (*Policy, error) {
	b, err := LoadBundle(path)
	if err != nil {
		return nil, err
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, &Error{ReasonBundle, fmt.Errorf("%s: %w", path, err)}
	}
	cert := vc.Certificate()
	if cert == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrKeyBundle)
	}
	return PolicyFor(cert, anyRef)
}

// PolicyFor is the policy a consumer should pin for what cert signed: its identity
// (SAN), issuer, and the repository's URI and numeric id, which survives renames and is
// not reusable by a squatter. With anyRef the identity becomes an anchored regexp that
// accepts the same workflow at any branch or tag (for releases from tags).
func PolicyFor(cert *x509.Certificate, anyRef bool) (*Policy, error) {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if s.SubjectAlternativeName == "" || s.Extensions.Issuer == "" {
		return nil, errors.New("the certificate names no identity or issuer")
	}
	p := &Policy{Issuer: s.Extensions.Issuer, Identity: s.SubjectAlternativeName,
		RepositoryID: s.Extensions.SourceRepositoryIdentifier, Repository: s.Extensions.SourceRepositoryURI}
	if anyRef {
		path, _, ok := strings.Cut(s.SubjectAlternativeName, "@")
		if ok {
			p.Identity = ""
			p.IdentityRegexp = "^" + regexp.QuoteMeta(path) + "@refs/(heads|tags)/[^/]+$"
		}
	}
	return p, p.Validate()
}
