package keyless

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithub"
	"github.com/sigstore/fulcio/pkg/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// newIssuer starts an in-process fake GitHub issuer.
func newIssuer(t *testing.T) (*fakegithub.Issuer, *httptest.Server) {
	t.Helper()
	key, err := fakegithub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var iss *fakegithub.Issuer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.Handler().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	iss = fakegithub.New(srv.URL, key)
	iss.RequestToken = "request-token-secret"
	return iss, srv
}

func mint(t *testing.T, iss *fakegithub.Issuer, o fakegithub.MintOptions) string {
	t.Helper()
	tok, err := iss.Mint(o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifierAcceptsGoodToken(t *testing.T) {
	iss, _ := newIssuer(t)
	v := &Verifier{Issuer: iss.URL}
	c, err := v.Verify(t.Context(), mint(t, iss, fakegithub.MintOptions{}))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.JobWorkflowRef != "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main" || c.RepositoryID != "123456789" {
		t.Fatalf("claims = %+v", c)
	}
}

func TestVerifierRefusals(t *testing.T) {
	iss, _ := newIssuer(t)
	other, _ := newIssuer(t) // another key, another URL
	good := mint(t, iss, fakegithub.MintOptions{})
	parts := strings.Split(good, ".")
	// Same header and signature, payload changed: the signature no longer matches.
	var claims map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(payload, &claims)
	claims["repository"] = "evil/repo"
	forged, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
	// Signed by another key, claiming our issuer.
	otherKeyOurIssuer := mint(t, other, fakegithub.MintOptions{Issuer: iss.URL})

	tests := []struct {
		name  string
		token string
		want  error
		text  string
	}{
		{"bad signature", tampered, ErrTokenInvalid, "signature"},
		{"signed by another key", otherKeyOurIssuer, ErrTokenInvalid, ""},
		{"wrong audience", mint(t, iss, fakegithub.MintOptions{Audience: "not-sigstore"}), ErrTokenInvalid, "audience"},
		{"expired", mint(t, iss, fakegithub.MintOptions{TTL: -10 * time.Minute}), ErrTokenInvalid, "expired"},
		{"issuer not configured", mint(t, other, fakegithub.MintOptions{}), ErrIssuerNotConfigured, "configured"},
		{"not valid yet (nbf)", mint(t, iss, fakegithub.MintOptions{Claims: map[string]any{"nbf": time.Now().Add(10 * time.Minute).Unix()}}), ErrTokenInvalid, "not valid before"},
		{"not a JWT", "abc.def", ErrMalformedToken, ""},
		{"garbage payload", "e30.!!!.sig", ErrMalformedToken, ""},
	}
	v := &Verifier{Issuer: iss.URL}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.text)
			}
			if strings.Contains(err.Error(), tc.token) && len(tc.token) > 20 {
				t.Fatal("error message contains the token")
			}
		})
	}
}

// TestVerifierDiscoveryMismatch: a discovery document naming another issuer than the
// URL it was fetched from is a refusal (ErrIssuerNotConfigured), not an outage.
func TestVerifierDiscoveryMismatch(t *testing.T) {
	iss, _ := newIssuer(t)
	// Another URL answering with iss's discovery document and keys: it names iss.URL.
	impostor := httptest.NewServer(iss.Handler())
	t.Cleanup(impostor.Close)
	tok := mint(t, iss, fakegithub.MintOptions{Issuer: impostor.URL})
	_, err := (&Verifier{Issuer: impostor.URL}).Verify(t.Context(), tok)
	if !errors.Is(err, ErrIssuerNotConfigured) || !strings.Contains(err.Error(), "names issuer") {
		t.Fatalf("err = %v, want ErrIssuerNotConfigured naming the discovery document's issuer", err)
	}
}

func TestVerifierSkew(t *testing.T) {
	iss, _ := newIssuer(t)
	soon := mint(t, iss, fakegithub.MintOptions{Claims: map[string]any{"nbf": time.Now().Add(30 * time.Second).Unix()}})
	if _, err := (&Verifier{Issuer: iss.URL}).Verify(t.Context(), soon); err != nil {
		t.Fatalf("nbf within skew: %v", err)
	}
	tok := mint(t, iss, fakegithub.MintOptions{TTL: time.Minute})
	late := &Verifier{Issuer: iss.URL, Now: func() time.Time { return time.Now().Add(time.Minute + 30*time.Second) }}
	if _, err := late.Verify(t.Context(), tok); err != nil {
		t.Fatalf("within skew: %v", err)
	}
	later := &Verifier{Issuer: iss.URL, Now: func() time.Time { return time.Now().Add(3 * time.Minute) }}
	if _, err := later.Verify(t.Context(), tok); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("past skew: %v", err)
	}
}

func TestFetchRunnerToken(t *testing.T) {
	iss, srv := newIssuer(t)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	_, err := FetchRunnerToken(t.Context(), nil, getenv, Audience)
	if !errors.Is(err, ErrNoTokenPermission) || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("no permission: %v", err)
	}
	env["ACTIONS_ID_TOKEN_REQUEST_URL"] = srv.URL + fakegithub.TokenPath + "?api-version=2.0"
	env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
	if _, err := FetchRunnerToken(t.Context(), nil, getenv, Audience); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad request token: %v", err)
	}
	env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = iss.RequestToken
	tok, err := FetchRunnerToken(t.Context(), nil, getenv, Audience)
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&Verifier{Issuer: iss.URL}).Verify(t.Context(), tok)
	if err != nil || c.Subject == "" {
		t.Fatalf("fetched token: %v", err)
	}
}

func TestDeriveIdentity(t *testing.T) {
	c := claimsFrom(t, nil)
	id, err := DeriveIdentity(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.SAN != "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main" {
		t.Fatalf("SAN = %s", id.SAN)
	}
	if id.Extensions.RunInvocationURI != "https://github.com/octo-org/octo-repo/actions/runs/4242424242/attempts/1" ||
		id.Extensions.SourceRepositoryIdentifier != "123456789" || id.Extensions.BuildTrigger != "push" {
		t.Fatalf("extensions = %+v", id.Extensions)
	}
	ghes, err := DeriveIdentity(c, "https://ghe.example.com")
	if err != nil || !strings.HasPrefix(ghes.SAN, "https://ghe.example.com/octo-org/") {
		t.Fatalf("GHES SAN = %v, %v", ghes, err)
	}
	missing := claimsFrom(t, map[string]any{"job_workflow_ref": nil})
	if _, err := DeriveIdentity(missing, ""); !IsRefusal(err) || !strings.Contains(err.Error(), "job_workflow_ref") {
		t.Fatalf("missing claim: %v", err)
	}
	traversal := claimsFrom(t, map[string]any{"repository": "octo-org/../evil"})
	if _, err := DeriveIdentity(traversal, ""); !IsRefusal(err) {
		t.Fatalf("path traversal in claim: %v", err)
	}
}

func claimsFrom(t *testing.T, over map[string]any) *Claims {
	t.Helper()
	m := fakegithub.DefaultClaims()
	m["iss"] = "https://token.actions.githubusercontent.com"
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	c, err := ParseClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExpectations(t *testing.T) {
	tests := []struct {
		name string
		exp  Expectations
		over map[string]any
		want string // "" = allowed; else a fragment of the reason
	}{
		{"default allows github-hosted", Expectations{}, nil, ""},
		{"repository matches case-insensitively", Expectations{Repository: "Octo-Org/Octo-Repo"}, nil, ""},
		{"repository contradicts", Expectations{Repository: "octo-org/other"}, nil, "repository"},
		{"ref matches", Expectations{Ref: "refs/heads/main"}, nil, ""},
		{"ref contradicts", Expectations{Ref: "refs/tags/v1"}, nil, "ref is"},
		{"workflow path matches", Expectations{Workflow: "octo-org/octo-repo/.github/workflows/release.yml"}, nil, ""},
		{"workflow full ref matches", Expectations{Workflow: "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"}, nil, ""},
		{"workflow contradicts", Expectations{Workflow: "octo-org/octo-repo/.github/workflows/ci.yml"}, nil, "job workflow"},
		{"self-hosted refused by default", Expectations{}, map[string]any{"runner_environment": "self-hosted"}, "self-hosted"},
		{"self-hosted allowed", Expectations{AllowSelfHosted: true}, map[string]any{"runner_environment": "self-hosted"}, ""},
		{"event allowed", Expectations{AllowedEvents: []string{"push", "release"}}, nil, ""},
		{"event refused", Expectations{AllowedEvents: []string{"release"}}, nil, "event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.exp.Check(claimsFrom(t, tc.over))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want refusal mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseEvents(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"push", []string{"push"}},
		{"push,release", []string{"push", "release"}},
		{" push , ,release ", []string{"push", "release"}},
	} {
		if got := ParseEvents(tc.list); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("ParseEvents(%q) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

// standInFulcio answers signingCert with a certificate made by mutate from a correct
// one: a Fulcio that misbehaves.
func standInFulcio(t *testing.T, mutate func(tmpl *x509.Certificate, pub any) any) *httptest.Server {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stand-in CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Credentials struct {
				OidcIdentityToken string `json:"oidcIdentityToken"`
			} `json:"credentials"`
			PublicKeyRequest struct {
				PublicKey struct {
					Content string `json:"content"`
				} `json:"publicKey"`
			} `json:"publicKeyRequest"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		parts := strings.Split(req.Credentials.OidcIdentityToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		c, _ := ParseClaims(payload)
		id, _ := DeriveIdentity(c, "")
		exts, _ := id.Extensions.Render()
		u, _ := url.Parse(id.SAN)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), URIs: []*url.URL{u}, ExtraExtensions: exts,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, KeyUsage: x509.KeyUsageDigitalSignature,
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute)}
		certPub := mutate(tmpl, pub)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, certPub, caKey)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		chain := []string{string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, der)), string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, caDER))}
		_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCertifyChecksTheCertificate(t *testing.T) {
	iss, _ := newIssuer(t)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name   string
		mutate func(*x509.Certificate, any) any
		want   string // "" = accepted
	}{
		{"honest", func(_ *x509.Certificate, pub any) any { return pub }, ""},
		{"wrong SAN", func(c *x509.Certificate, pub any) any {
			c.URIs[0], _ = url.Parse("https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main")
			return pub
		}, "SAN"},
		{"wrong key", func(_ *x509.Certificate, _ any) any { return otherKey.Public() }, "public key"},
		{"wrong repository extension", func(c *x509.Certificate, pub any) any {
			ext := certificate.Extensions{Issuer: iss.URL, SourceRepositoryIdentifier: "666"}
			c.ExtraExtensions, _ = ext.Render()
			return pub
		}, "extension"},
		{"not code signing", func(c *x509.Certificate, pub any) any {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			return pub
		}, "code-signing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := standInFulcio(t, tc.mutate)
			cf := &Certifier{Verifier: &Verifier{Issuer: iss.URL}, Fulcio: &Fulcio{URL: f.URL}}
			got, err := cf.Certify(t.Context(), mint(t, iss, fakegithub.MintOptions{}))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Certify: %v", err)
				}
				if got.Identity.SAN != got.Chain[0].URIs[0].String() {
					t.Fatal("identity and certificate disagree")
				}
				return
			}
			if !errors.Is(err, ErrCertificateMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mismatch mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFulcioUnreachable(t *testing.T) {
	iss, _ := newIssuer(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	calls := 0
	f := &Fulcio{URL: dead, Retries: 2, Sleep: func(context.Context, time.Duration) error { calls++; return nil }}
	cf := &Certifier{Verifier: &Verifier{Issuer: iss.URL}, Fulcio: f}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := cf.Certify(ctx, mint(t, iss, fakegithub.MintOptions{}))
	if err == nil || !strings.Contains(err.Error(), "unreachable after 3 attempts") || !strings.Contains(err.Error(), "check the Fulcio URL") {
		t.Fatalf("err = %v", err)
	}
	if calls != 2 {
		t.Fatalf("waited %d times, want 2", calls)
	}
}

func TestFulcio5xxRetriedThen4xxFinal(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, `{"message":"invalid token"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := &Fulcio{URL: srv.URL, Sleep: noSleep}
	_, err := f.Certificate(t.Context(), "tok", "sub", key)
	if err == nil || !strings.Contains(err.Error(), "refused") || n != 2 {
		t.Fatalf("err = %v after %d calls", err, n)
	}
}

// fulcioIssuerRefusal is, byte for byte, what Fulcio v1.8.8 answers through its REST
// gateway for a token whose issuer it was not configured with (seen from the local
// stack's Fulcio: HTTP 400, Content-Type application/json).
const fulcioIssuerRefusal = `{"code":3,"message":"There was an error processing the identity token","details":[]}`

// refusingFulcio answers every request as Fulcio answers a token it cannot authenticate.
func refusingFulcio(t *testing.T, calls *int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Vary", "Origin")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(fulcioIssuerRefusal))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFulcioRefusesIssuer: Fulcio's answer to a token from an issuer it does not list
// becomes an IssuerRefusedError that names the issuer and the Fulcio, says that GHES and
// enterprise-slug issuers need the operator to configure them, and what to do; it is
// not retried and never carries the token.
func TestFulcioRefusesIssuer(t *testing.T) {
	iss, _ := newIssuer(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct{ issuer, kind string }{
		{DefaultIssuer + "/acme", DefaultIssuer + "/acme (an enterprise-slug issuer)"},
		{"https://ghes.example.com/_services/token", "https://ghes.example.com/_services/token (not GitHub.com's: a GitHub Enterprise Server or other issuer)"},
		{DefaultIssuer, DefaultIssuer + " (GitHub.com's issuer)"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			calls := 0
			f := refusingFulcio(t, &calls)
			tok := mint(t, iss, fakegithub.MintOptions{Issuer: tc.issuer})
			_, err := (&Fulcio{URL: f.URL, Sleep: noSleep}).Certificate(t.Context(), tok, "sub", key)
			var ire *IssuerRefusedError
			if !errors.Is(err, ErrIssuerNotAccepted) || !errors.As(err, &ire) || ire.Issuer != tc.issuer {
				t.Fatalf("err = %v, want an IssuerRefusedError for %s", err, tc.issuer)
			}
			for _, want := range []string{
				"fulcio at " + f.URL + " refused the identity token of issuer " + tc.kind + ", which verified here",
				"GitHub Enterprise Server issuers (https://HOST/_services/token) and enterprise-slug issuers (" + DefaultIssuer + "/<slug>) only when configured there",
				"does not list " + tc.issuer,
				"use a Fulcio that lists the issuer, or sign with a key",
				"400 Bad Request: There was an error processing the identity token",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%s", want, err)
				}
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatal("the message carries the token")
			}
			if calls != 1 {
				t.Fatalf("%d requests: a refusal is final", calls)
			}
		})
	}

	// Another 400 from Fulcio (an unparseable key) is a plain refusal, not this one.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":3,"message":"The public key supplied in the request could not be parsed","details":[]}`))
	}))
	defer other.Close()
	_, err := (&Fulcio{URL: other.URL}).Certificate(t.Context(), mint(t, iss, fakegithub.MintOptions{}), "sub", key)
	if err == nil || errors.Is(err, ErrIssuerNotAccepted) || !strings.Contains(err.Error(), "refused the certificate request") {
		t.Fatalf("err = %v", err)
	}
}

// TestEnterpriseSlugIssuer: a token from an enterprise-slug issuer (here the fake issuer
// mounted at /acme, as https://token.actions.githubusercontent.com/acme is) verifies
// against that issuer's own discovery and JWKS, and derives the same github.com
// identity with the slug issuer in the issuer extension; a Fulcio that does not list
// the issuer refuses it through Certify with the issuer named.
func TestEnterpriseSlugIssuer(t *testing.T) {
	key, err := fakegithub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var slug *fakegithub.Issuer
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	slug = fakegithub.New(srv.URL+"/acme", key)
	mux.Handle("/acme/", slug.Handler())
	tok := mint(t, slug, fakegithub.MintOptions{})

	c, err := (&Verifier{Issuer: slug.URL}).Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify against the slug issuer: %v", err)
	}
	id, err := DeriveIdentity(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.SAN != "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main" || id.Issuer != slug.URL || id.Extensions.Issuer != slug.URL {
		t.Fatalf("identity %+v", id)
	}
	// The real slug issuer: identity from claims alone (Fulcio's github-workflow principal
	// takes the SAN from job_workflow_ref under https://github.com whatever the issuer).
	c.Issuer = DefaultIssuer + "/acme"
	if id, err := DeriveIdentity(c, DefaultServerURL); err != nil || id.SAN != "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main" ||
		id.Extensions.Issuer != DefaultIssuer+"/acme" || id.Extensions.SourceRepositoryURI != "https://github.com/octo-org/octo-repo" {
		t.Fatalf("slug identity %+v, %v", id, err)
	}
	// The root-mounted issuer is another issuer: its tokens are refused here.
	if _, err := (&Verifier{Issuer: slug.URL}).Verify(t.Context(), mint(t, slug, fakegithub.MintOptions{Issuer: srv.URL})); !errors.Is(err, ErrIssuerNotConfigured) {
		t.Fatalf("token of the bare host: %v", err)
	}

	calls := 0
	f := refusingFulcio(t, &calls)
	_, err = (&Certifier{Verifier: &Verifier{Issuer: slug.URL}, Fulcio: &Fulcio{URL: f.URL}}).Certify(t.Context(), tok)
	if !errors.Is(err, ErrIssuerNotAccepted) || !strings.Contains(err.Error(), "does not list "+slug.URL) {
		t.Fatalf("Certify: %v", err)
	}
}

func noSleep(context.Context, time.Duration) error { return nil }
