// Package fakegithub is a stand-in for the parts of GitHub that cannot run here: the
// Actions OIDC issuer (discovery document, JWKS, RS256 ID tokens with GitHub's claims)
// and the runner's token-request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL).
//
// It is for tests and the local demo only. The tokens are real JWTs signed with a real
// RSA key, so Fulcio and go-oidc verify them exactly as they verify GitHub's.
package fakegithub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TokenPath is the runner token-request endpoint path (after the issuer URL's path); the
// runner's URL carries a query string already, so clients append "&audience=...".
const TokenPath = "/_apis/actions/idtoken"

// MintPath accepts POSTed claim overrides and answers a signed token. It exists only in
// the fake: tests use it to make tokens a real job could not ask for (other repository,
// self-hosted runner, expired, wrong audience).
const MintPath = "/_fake/mint"

// Issuer is an OIDC issuer that signs GitHub Actions ID tokens.
type Issuer struct {
	// URL is the issuer URL, the "iss" claim, e.g. http://127.0.0.1:5556.
	URL string
	// RequestToken is the bearer token the runner's token-request endpoint expects.
	RequestToken string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Claims are the default claims of a token (see DefaultClaims); overrides are
	// merged over them. A key whose override value is null is removed.
	Claims map[string]any

	key *rsa.PrivateKey
	kid string
	mu  sync.Mutex
	seq int
}

// New returns an issuer at url signing with key.
func New(url string, key *rsa.PrivateKey) *Issuer {
	der, _ := json.Marshal(key.PublicKey.N.Bytes())
	sum := sha256.Sum256(der)
	return &Issuer{URL: strings.TrimSuffix(url, "/"), key: key, kid: hex.EncodeToString(sum[:8]), Claims: DefaultClaims()}
}

// GenerateKey makes a 2048-bit RSA key, as GitHub's issuer uses.
func GenerateKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// DefaultClaims are the claims of a push to main in octo-org/octo-repo on a GitHub-hosted
// runner, in the shape GitHub documents.
func DefaultClaims() map[string]any {
	return map[string]any{
		"sub":                   "repo:octo-org/octo-repo:ref:refs/heads/main",
		"aud":                   "sigstore",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"sha":                   "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
		"repository":            "octo-org/octo-repo",
		"repository_id":         "123456789",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "987654",
		"repository_visibility": "public",
		"run_id":                "4242424242",
		"run_number":            "17",
		"run_attempt":           "1",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"workflow":              "release",
		"workflow_ref":          "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"workflow_sha":          "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
		"job_workflow_ref":      "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"job_workflow_sha":      "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "push",
		"runner_environment":    "github-hosted",
		"environment":           "",
	}
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

// MintOptions shape one token.
type MintOptions struct {
	Audience string         `json:"audience,omitempty"` // "sigstore" when empty
	TTL      time.Duration  `json:"ttl,omitempty"`      // 5 minutes when zero; negative makes an expired token
	Claims   map[string]any `json:"claims,omitempty"`   // overrides (also iat and nbf); null deletes
	Issuer   string         `json:"issuer,omitempty"`   // overrides "iss" (a token from another issuer)
}

// Mint signs a token.
func (i *Issuer) Mint(o MintOptions) (string, error) {
	now := i.now()
	ttl := o.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	aud := o.Audience
	if aud == "" {
		aud = "sigstore"
	}
	iss := i.URL
	if o.Issuer != "" {
		iss = o.Issuer
	}
	i.mu.Lock()
	i.seq++
	seq := i.seq
	i.mu.Unlock()
	claims := map[string]any{}
	for k, v := range i.Claims {
		claims[k] = v
	}
	for k, v := range o.Claims {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	claims["iss"] = iss
	claims["aud"] = aud
	claims["jti"] = fmt.Sprintf("fake-%d-%d", now.UnixNano(), seq)
	claims["iat"] = now.Add(-time.Second).Unix()
	claims["nbf"] = now.Add(-time.Second).Unix()
	if ttl < 0 { // expired: issued before it expired
		claims["iat"] = now.Add(2 * ttl).Unix()
		claims["nbf"] = now.Add(2 * ttl).Unix()
	}
	claims["exp"] = now.Add(ttl).Unix()
	for _, k := range []string{"iat", "nbf"} { // a test's own validity claims win
		if v, ok := o.Claims[k]; ok && v != nil {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("fakegithub: encode claims: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", i.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: i.key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Handler serves discovery, JWKS, the runner's token endpoint and the mint endpoint,
// under the path of the issuer URL: an issuer at http://HOST/acme answers
// /acme/.well-known/openid-configuration, as GitHub's enterprise-slug issuers
// (https://token.actions.githubusercontent.com/<slug>) do. One server can so stand in
// for several issuers, each mounted at its own path.
func (i *Issuer) Handler() http.Handler {
	prefix := ""
	if u, err := url.Parse(i.URL); err == nil {
		prefix = strings.TrimSuffix(u.Path, "/")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/.well-known/jwks",
			"subject_types_supported":               []string{"public", "pairwise"},
			"response_types_supported":              []string{"id_token"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_id", "job_workflow_ref", "runner_environment"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid"},
		})
	})
	mux.HandleFunc("GET "+prefix+"/.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.RS256), Use: "sig",
		}}})
	})
	mux.HandleFunc("GET "+prefix+TokenPath, func(w http.ResponseWriter, r *http.Request) {
		// The runner answers 401 without the request token, and a JSON {"value": JWT}.
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(auth, "Bearer ")
		}
		if !ok || i.RequestToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(i.RequestToken)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			aud = "sigstore"
		}
		jwt, err := i.Mint(MintOptions{Audience: aud})
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": jwt})
	})
	mux.HandleFunc("POST "+prefix+MintPath, func(w http.ResponseWriter, r *http.Request) {
		var o MintOptions
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&o); err != nil && !errors.Is(err, io.EOF) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
			return
		}
		jwt, err := i.Mint(o)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": jwt})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Signer exposes the issuer's key as a crypto.Signer, for tests that forge a token with
// the right key but wrong content.
func (i *Issuer) Signer() crypto.Signer { return i.key }
