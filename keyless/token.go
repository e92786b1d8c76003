package keyless

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/coreos/go-oidc/v3/oidc"
)

// defaultHTTPClient is used when a caller gives no client: never one without a timeout
// (http.DefaultClient waits forever on a server that accepts and never answers).
var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// DefaultIssuer is GitHub.com's Actions OIDC issuer.
const DefaultIssuer = "https://token.actions.githubusercontent.com"

// Audience is the audience Fulcio requires of an identity token.
const Audience = "sigstore"

var (
	// ErrNoTokenPermission means the job cannot ask for an OIDC token.
	ErrNoTokenPermission = errors.New("no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; " +
		"add `permissions: id-token: write` to the job")
	// ErrMalformedToken means the token is not a well-formed JWT.
	ErrMalformedToken = errors.New("malformed identity token")
	// ErrTokenInvalid means the token failed verification (signature, audience, expiry).
	ErrTokenInvalid = errors.New("identity token rejected")
	// ErrIssuerNotConfigured means the token comes from an issuer cachet was not told to trust.
	ErrIssuerNotConfigured = errors.New("identity token issuer is not the configured issuer")
)

// FetchRunnerToken asks the runner's token endpoint for an ID token with the given
// audience, as actions/core getIDToken does. getenv reads the runner's environment.
func FetchRunnerToken(ctx context.Context, client *http.Client, getenv func(string) string, audience string) (string, error) {
	reqURL, reqTok := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqTok == "" {
		return "", ErrNoTokenPermission
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	if client == nil {
		client = defaultHTTPClient
	}
	// Three attempts on a transport error, a 429 or a 5xx, as actions/core does.
	client = httpretry.Wrap(client, &httpretry.Transport{Attempts: 3, MinBackoff: 500 * time.Millisecond})
	tok, err := fetchOnce(ctx, client, u.String(), reqTok)
	if err != nil {
		return "", fmt.Errorf("request OIDC token from the runner: %w", err)
	}
	return tok, nil
}

func fetchOnce(ctx context.Context, client *http.Client, u, bearer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint answered %s (is `permissions: id-token: write` set on the job?)", resp.Status)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", errors.New("token endpoint answered without a token value")
	}
	return v.Value, nil
}

// Verifier verifies GitHub Actions ID tokens locally against the issuer's published keys.
type Verifier struct {
	// Issuer is the one issuer trusted: DefaultIssuer, an enterprise issuer
	// (DefaultIssuer + "/<enterprise-slug>"), or a GHES host's issuer.
	Issuer string
	// Audience is required in "aud"; Audience ("sigstore") when empty.
	Audience string
	// HTTPClient fetches discovery and JWKS; a client with a 30 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Skew is the clock skew tolerated on exp, nbf and iat; one minute when zero.
	Skew time.Duration
}

// Verify checks the token's signature against the issuer's JWKS, its issuer, audience,
// and validity period, and returns its claims. The error never contains the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	unverified, err := peekClaims(raw)
	if err != nil {
		return nil, err
	}
	issuer := strings.TrimSuffix(v.Issuer, "/")
	if issuer == "" {
		return nil, fmt.Errorf("%w: no issuer configured", ErrIssuerNotConfigured)
	}
	if unverified.Issuer != issuer {
		return nil, fmt.Errorf("%w: token issuer %q, configured %q", ErrIssuerNotConfigured, unverified.Issuer, issuer)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.Skew
	if skew == 0 {
		skew = time.Minute
	}
	aud := v.Audience
	if aud == "" {
		aud = Audience
	}
	hc := v.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	octx := oidc.ClientContext(ctx, hc)
	provider, err := discover(octx, hc, issuer)
	if err != nil {
		return nil, err
	}
	// Expiry is checked below with our own, smaller skew (go-oidc allows five minutes).
	idt, err := provider.Verifier(&oidc.Config{ClientID: aud, SkipExpiryCheck: true, Now: now}).Verify(octx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrTokenInvalid, scrub(err.Error(), raw))
	}
	t := now()
	if idt.Expiry.IsZero() || t.After(idt.Expiry.Add(skew)) {
		return nil, fmt.Errorf("%w: expired at %s; request a fresh token (they live about 5 minutes)", ErrTokenInvalid, idt.Expiry.UTC().Format(time.RFC3339))
	}
	if !idt.IssuedAt.IsZero() && idt.IssuedAt.After(t.Add(skew)) {
		return nil, fmt.Errorf("%w: issued in the future (%s); check the clock", ErrTokenInvalid, idt.IssuedAt.UTC().Format(time.RFC3339))
	}
	// go-oidc's SkipExpiryCheck also skips nbf: check it here, with the same skew.
	var nbf struct {
		NotBefore *json.Number `json:"nbf"`
	}
	if err := idt.Claims(&nbf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	if nbf.NotBefore != nil {
		n, err := nbf.NotBefore.Float64()
		if err != nil {
			return nil, fmt.Errorf("%w: nbf is not a number", ErrMalformedToken)
		}
		if nb := time.Unix(int64(n), 0); nb.After(t.Add(skew)) {
			return nil, fmt.Errorf("%w: not valid before %s; check the clock", ErrTokenInvalid, nb.UTC().Format(time.RFC3339))
		}
	}
	var c Claims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	if c.Issuer != issuer {
		return nil, fmt.Errorf("%w: token issuer %q", ErrIssuerNotConfigured, c.Issuer)
	}
	return &c, nil
}

// maxDiscovery bounds the discovery document; GitHub's is under 2 KB.
const maxDiscovery = 1 << 20

// discover reads issuer's OpenID discovery document and refuses one that names another
// issuer: its keys would be the keys of whoever answers at that URL, not of the issuer
// configured. (go-oidc's NewProvider makes the same comparison, but its error cannot be
// told from an unreachable issuer, and a mismatch is a refusal, not an outage.)
func discover(ctx context.Context, hc *http.Client, issuer string) (*oidc.Provider, error) {
	u := issuer + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer URL %q: %v", ErrIssuerNotConfigured, issuer, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the discovery document of %s: %w", issuer, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscovery+1))
	if err != nil {
		return nil, fmt.Errorf("fetch the discovery document of %s: %w", issuer, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the discovery document of %s: HTTP %s", issuer, resp.Status)
	}
	if len(body) > maxDiscovery {
		return nil, fmt.Errorf("discovery document of %s: larger than %d bytes", issuer, maxDiscovery)
	}
	var pc oidc.ProviderConfig
	if err := json.Unmarshal(body, &pc); err != nil {
		return nil, fmt.Errorf("discovery document of %s: %v", issuer, err)
	}
	if pc.IssuerURL != issuer {
		return nil, fmt.Errorf("%w: the discovery document at %s names issuer %s, not the configured %s; refusing its keys (a misconfigured or impersonating issuer)",
			ErrIssuerNotConfigured, u, strconv.Quote(pc.IssuerURL), strconv.Quote(issuer))
	}
	if pc.JWKSURL == "" {
		return nil, fmt.Errorf("discovery document of %s has no jwks_uri", issuer)
	}
	// Only the algorithms go-oidc verifies (as its NewProvider filters them).
	var algs []string
	for _, a := range pc.Algorithms {
		switch a {
		case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
			algs = append(algs, a)
		}
	}
	pc.Algorithms = algs
	return pc.NewProvider(ctx), nil
}

// peekClaims decodes the payload without verifying it, for routing and messages only.
func peekClaims(raw string) (*Claims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want three dot-separated parts, got %d", ErrMalformedToken, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformedToken)
	}
	return ParseClaims(payload)
}

// scrub removes the token from a library message, should one ever echo it.
func scrub(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "[token]")
}

// MaxTokenFile bounds a token file (Token's @PATH); a GitHub OIDC token is about 1 KiB.
const MaxTokenFile = 64 << 10

// TokenFileError is a token file (Token's @PATH) that could not be read.
type TokenFileError struct{ Err error }

func (e *TokenFileError) Error() string { return e.Err.Error() }
func (e *TokenFileError) Unwrap() error { return e.Err }

// Token is the identity token ref gives: the token itself, or @PATH for the one in a
// regular file of at most MaxTokenFile bytes, surrounding space trimmed either way;
// when ref is empty, the one the runner issues for Audience (FetchRunnerToken).
func Token(ctx context.Context, ref string, client *http.Client, getenv func(string) string) (string, error) {
	if ref == "" {
		return FetchRunnerToken(ctx, client, getenv, Audience)
	}
	if path, ok := strings.CutPrefix(ref, "@"); ok {
		b, err := regfile.ReadFile(path, MaxTokenFile)
		if err != nil {
			return "", &TokenFileError{err}
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(ref), nil
}
