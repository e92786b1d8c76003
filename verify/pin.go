package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

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
