package keyless

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/fulcio/pkg/certificate"
	fulciopb "github.com/sigstore/fulcio/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrCertificateMismatch means Fulcio returned a certificate that does not certify our
// key or the identity we derived.
var ErrCertificateMismatch = errors.New("fulcio certificate does not match")

// Fulcio is a client of Fulcio's v2 REST API.
type Fulcio struct {
	URL        string       // base URL, e.g. https://fulcio.sigstore.dev
	HTTPClient *http.Client // http.DefaultClient when nil
	Retries    int          // extra attempts on transport errors, 429 and 5xx; 0 means 3
	// Backoff is the wait before retry n (1-based); 500ms·n when nil.
	Backoff func(n int) time.Duration
}

// Certificate asks Fulcio to certify signer's public key for the token's identity and
// returns the chain, leaf first. The proof of possession is signer's signature over the
// token's "sub" claim. The caller checks the leaf with CheckCertificate.
func (f *Fulcio) Certificate(ctx context.Context, token, subject string, signer crypto.Signer) ([]*x509.Certificate, error) {
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("fulcio: encode public key: %w", err)
	}
	sum := sha256.Sum256([]byte(subject))
	pop, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("fulcio: proof of possession: %w", err)
	}
	req := &fulciopb.CreateSigningCertificateRequest{
		Credentials: &fulciopb.Credentials{Credentials: &fulciopb.Credentials_OidcIdentityToken{OidcIdentityToken: token}},
		Key: &fulciopb.CreateSigningCertificateRequest_PublicKeyRequest{PublicKeyRequest: &fulciopb.PublicKeyRequest{
			PublicKey:         &fulciopb.PublicKey{Algorithm: algorithmOf(signer.Public()), Content: string(pubPEM)},
			ProofOfPossession: pop,
		}},
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	respBody, err := f.post(ctx, strings.TrimSuffix(f.URL, "/")+"/api/v2/signingCert", body)
	if err != nil {
		return nil, err
	}
	var resp fulciopb.SigningCertificate
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(respBody, &resp); err != nil {
		return nil, fmt.Errorf("fulcio: decode response: %w", err)
	}
	var pems []string
	switch c := resp.Certificate.(type) {
	case *fulciopb.SigningCertificate_SignedCertificateEmbeddedSct:
		pems = c.SignedCertificateEmbeddedSct.GetChain().GetCertificates()
	case *fulciopb.SigningCertificate_SignedCertificateDetachedSct:
		pems = c.SignedCertificateDetachedSct.GetChain().GetCertificates()
	}
	if len(pems) == 0 {
		return nil, errors.New("fulcio: response has no certificate chain")
	}
	var chain []*x509.Certificate
	for _, p := range pems {
		cs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("fulcio: parse certificate: %w", err)
		}
		chain = append(chain, cs...)
	}
	return chain, nil
}

func algorithmOf(pub crypto.PublicKey) fulciopb.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return fulciopb.PublicKeyAlgorithm_RSA_PSS
	case ed25519.PublicKey:
		return fulciopb.PublicKeyAlgorithm_ED25519
	default:
		return fulciopb.PublicKeyAlgorithm_ECDSA
	}
}

func (f *Fulcio) post(ctx context.Context, url string, body []byte) ([]byte, error) {
	hc := f.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	retries := f.Retries
	if retries == 0 {
		retries = 3
	}
	backoff := f.Backoff
	if backoff == nil {
		backoff = func(n int) time.Duration { return time.Duration(n) * 500 * time.Millisecond }
	}
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(backoff(attempt)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("fulcio: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
			return b, nil
		}
		lastErr = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b[:min(len(b), 300)]))
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return nil, fmt.Errorf("fulcio refused the certificate request: %w", lastErr)
		}
	}
	return nil, fmt.Errorf("fulcio at %s unreachable after %d attempts (check --fulcio-url and the network): %w", f.URL, retries+1, lastErr)
}

// CheckCertificate verifies that leaf certifies pub for exactly the derived identity:
// the SAN, the issuer and every GitHub extension Fulcio sets (OIDs .8 to .22), and that
// it is a code-signing certificate valid now.
func CheckCertificate(leaf *x509.Certificate, pub crypto.PublicKey, id *Identity, now time.Time) error {
	if err := cryptoutils.EqualKeys(leaf.PublicKey, pub); err != nil {
		return fmt.Errorf("%w: the certificate's public key is not our key", ErrCertificateMismatch)
	}
	var sans []string
	for _, u := range leaf.URIs {
		sans = append(sans, u.String())
	}
	if len(sans) != 1 || sans[0] != id.SAN || len(leaf.EmailAddresses) > 0 || len(leaf.DNSNames) > 0 || len(leaf.IPAddresses) > 0 {
		return fmt.Errorf("%w: SAN is %v, derived %q", ErrCertificateMismatch, sans, id.SAN)
	}
	got, err := certificate.ParseExtensions(leaf.Extensions)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertificateMismatch, err)
	}
	want := id.Extensions
	for _, f := range []struct{ oid, got, want string }{
		{"1.3.6.1.4.1.57264.1.8 (issuer)", got.Issuer, want.Issuer},
		{"1.3.6.1.4.1.57264.1.9 (build signer URI)", got.BuildSignerURI, want.BuildSignerURI},
		{"1.3.6.1.4.1.57264.1.10 (build signer digest)", got.BuildSignerDigest, want.BuildSignerDigest},
		{"1.3.6.1.4.1.57264.1.11 (runner environment)", got.RunnerEnvironment, want.RunnerEnvironment},
		{"1.3.6.1.4.1.57264.1.12 (source repository URI)", got.SourceRepositoryURI, want.SourceRepositoryURI},
		{"1.3.6.1.4.1.57264.1.13 (source repository digest)", got.SourceRepositoryDigest, want.SourceRepositoryDigest},
		{"1.3.6.1.4.1.57264.1.14 (source repository ref)", got.SourceRepositoryRef, want.SourceRepositoryRef},
		{"1.3.6.1.4.1.57264.1.15 (source repository identifier)", got.SourceRepositoryIdentifier, want.SourceRepositoryIdentifier},
		{"1.3.6.1.4.1.57264.1.16 (owner URI)", got.SourceRepositoryOwnerURI, want.SourceRepositoryOwnerURI},
		{"1.3.6.1.4.1.57264.1.17 (owner identifier)", got.SourceRepositoryOwnerIdentifier, want.SourceRepositoryOwnerIdentifier},
		{"1.3.6.1.4.1.57264.1.18 (build config URI)", got.BuildConfigURI, want.BuildConfigURI},
		{"1.3.6.1.4.1.57264.1.19 (build config digest)", got.BuildConfigDigest, want.BuildConfigDigest},
		{"1.3.6.1.4.1.57264.1.20 (build trigger)", got.BuildTrigger, want.BuildTrigger},
		{"1.3.6.1.4.1.57264.1.21 (run invocation URI)", got.RunInvocationURI, want.RunInvocationURI},
		{"1.3.6.1.4.1.57264.1.22 (repository visibility)", got.SourceRepositoryVisibilityAtSigning, want.SourceRepositoryVisibilityAtSigning},
	} {
		if f.got != f.want {
			return fmt.Errorf("%w: extension %s is %q, derived %q", ErrCertificateMismatch, f.oid, f.got, f.want)
		}
	}
	codeSigning := false
	for _, u := range leaf.ExtKeyUsage {
		codeSigning = codeSigning || u == x509.ExtKeyUsageCodeSigning
	}
	if !codeSigning {
		return fmt.Errorf("%w: not a code-signing certificate", ErrCertificateMismatch)
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("%w: not valid now (%s to %s)", ErrCertificateMismatch, leaf.NotBefore, leaf.NotAfter)
	}
	return nil
}
