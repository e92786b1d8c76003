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
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/sigstore/fulcio/pkg/certificate"
	fulciopb "github.com/sigstore/fulcio/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrCertificateMismatch means Fulcio returned a certificate that does not certify our
// key or the identity we derived.
var ErrCertificateMismatch = errors.New("fulcio certificate does not match")

// ErrIssuerNotAccepted means Fulcio refused the identity token as it refuses one from
// an issuer it was not configured with. See IssuerRefusedError.
var ErrIssuerNotAccepted = errors.New("fulcio does not accept the token's issuer")

// fulcioTokenRefusal is what Fulcio v1.8.8 answers, through its REST gateway, for an
// identity token it cannot authenticate: its IssuerPool finds no configured issuer
// ("failed to match issuer URL ... with any configured providers",
// pkg/identity/issuerpool.go) or the issuer's verifier rejects the token, and
// CreateSigningCertificate returns codes.InvalidArgument with invalidIdentityToken
// (pkg/server/grpc_server.go, error.go), which grpc-gateway writes as HTTP 400 with
// {"code":3,"message":"There was an error processing the identity token","details":[]}.
const fulcioTokenRefusal = "There was an error processing the identity token"

// IssuerRefusedError is Fulcio refusing a token that verified here. Fulcio gives one
// answer for every token it cannot authenticate, but cachet has just checked this one
// against its issuer's keys, audience and expiry, so what remains is nearly always an
// issuer Fulcio was not configured with: the case of GitHub Enterprise Server and
// enterprise-slug issuers at a Fulcio whose operator did not add them.
type IssuerRefusedError struct {
	Issuer    string // the token's iss
	FulcioURL string
	Status    string // Fulcio's HTTP status line
	Message   string // Fulcio's message
}

func (e *IssuerRefusedError) Error() string {
	var kind string
	switch {
	case e.Issuer == DefaultIssuer:
		kind = "GitHub.com's issuer"
	case strings.HasPrefix(e.Issuer, DefaultIssuer+"/"):
		kind = "an enterprise-slug issuer"
	default:
		kind = "not GitHub.com's: a GitHub Enterprise Server or other issuer"
	}
	return fmt.Sprintf("fulcio at %s refused the identity token of issuer %s (%s), which verified here (signature, audience, expiry): "+
		"Fulcio accepts only the issuers its operator configured, and GitHub Enterprise Server issuers (https://HOST/_services/token) "+
		"and enterprise-slug issuers (%s/<slug>) only when configured there, so this Fulcio most likely does not list %s "+
		"(Fulcio answered %s: %s): use a Fulcio that lists the issuer, or sign with a key",
		e.FulcioURL, e.Issuer, kind, DefaultIssuer, e.Issuer, e.Status, e.Message)
}

func (e *IssuerRefusedError) Unwrap() error { return ErrIssuerNotAccepted }

// statusError is a final (not retried) answer from Fulcio other than success.
type statusError struct {
	code   int
	status string
	body   []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: %s", e.status, bytes.TrimSpace(e.body[:min(len(e.body), 300)]))
}

// tokenRefusal reports whether e is Fulcio's answer to a token it cannot authenticate.
func (e *statusError) tokenRefusal() (message string, ok bool) {
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if e.code != http.StatusBadRequest || json.Unmarshal(e.body, &st) != nil {
		return "", false
	}
	return st.Message, st.Code == 3 && st.Message == fulcioTokenRefusal // 3: codes.InvalidArgument
}

// Fulcio is a client of Fulcio's v2 REST API.
type Fulcio struct {
	URL        string       // base URL, e.g. https://fulcio.sigstore.dev
	HTTPClient *http.Client // a client with a 30 s timeout when nil
	Retries    int          // extra attempts on transport errors, 429 and 5xx; 0 means 3
	// Sleep waits between attempts (jittered backoff from 500 ms, or the server's
	// Retry-After up to 30 s; see internal/httpretry); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
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
	var se *statusError
	if errors.As(err, &se) {
		if msg, ok := se.tokenRefusal(); ok {
			iss := "(unknown)"
			if c, perr := peekClaims(token); perr == nil && c.Issuer != "" {
				iss = c.Issuer
			}
			return nil, &IssuerRefusedError{Issuer: iss, FulcioURL: f.URL, Status: se.status, Message: msg}
		}
	}
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

// post sends the request, retried by httpretry: a second certificate for the same
// key is harmless, so the POST is retried like a GET.
func (f *Fulcio) post(ctx context.Context, url string, body []byte) ([]byte, error) {
	retries := f.Retries
	if retries == 0 {
		retries = 3
	}
	hc := f.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	rt := &httpretry.Transport{Attempts: retries + 1, MinBackoff: 500 * time.Millisecond, Retryable: httpretry.AnyMethod, Sleep: f.Sleep}
	hc = httpretry.Wrap(hc, rt)
	unreachable := func(err error) error {
		return fmt.Errorf("fulcio at %s unreachable after %d attempts (check the Fulcio URL and the network): %w", f.URL, retries+1, err)
	}
	resp, b, err := rt.ReadAll(ctx, hc, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}, 1<<20)
	if err != nil {
		return nil, unreachable(err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		return b, nil
	}
	se := &statusError{code: resp.StatusCode, status: resp.Status, body: b}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return nil, fmt.Errorf("fulcio refused the certificate request: %w", se)
	}
	return nil, unreachable(se) // the transport's attempts are spent
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
