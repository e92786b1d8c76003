package tsa

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestClientAgainstServer: the client gets and verifies a token from the authority when
// the authority's chain is a Sigstore TimestampingAuthority in its trusted root.
func TestClientAgainstServer(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	srv := tt.server(t, ServerOptions{})
	for _, tc := range []struct {
		name string
		urls []string
		mode Mode
		want int
	}{
		{"root path", []string{srv.URL + "/"}, Any, 1},
		{"sigstore path", []string{srv.URL + "/api/v1/timestamp"}, Any, 1},
		{"all of two", []string{srv.URL + "/", srv.URL + "/api/v1/timestamp"}, All, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{URLs: tc.urls, Mode: tc.mode, Policy: DefaultPolicy, Trusted: tt.trusted()}
			sig := []byte("signature bytes " + tc.name)
			toks, err := c.Timestamp(t.Context(), sig)
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != tc.want {
				t.Fatalf("%d tokens, want %d", len(toks), tc.want)
			}
			for _, tok := range toks {
				if d := time.Since(tok.Time); d > time.Minute || d < -time.Minute {
					t.Errorf("token time %s", tok.Time)
				}
				// The token is what a Sigstore bundle carries: sigstore-go verifies it alone.
				if _, err := tt.trusted()[0].Verify(tok.Response, sig); err != nil {
					t.Errorf("sigstore-go Verify: %v", err)
				}
			}
		})
	}
}

// TestClientRefuses: Check refuses every response that does not answer the request or
// does not verify, with the error callers branch on.
func TestClientRefuses(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	other := newTestTSA(t, mustDevChain(t), nil) // a TSA nobody trusts
	sig := []byte("the signature")
	sum := sha256.Sum256(sig)
	nonce := big.NewInt(424242)
	req := &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: nonce, Certificates: true}

	issue := func(a *Authority, r *timestamp.Request) []byte {
		t.Helper()
		der, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Respond(der, "test")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	good := issue(tt.a, req)
	otherSum := sha256.Sum256([]byte("another signature"))

	for _, tc := range []struct {
		name    string
		resp    []byte
		sig     []byte
		trusted []root.TimestampingAuthority
		unbound bool   // errors.Is(err, ErrUnbound)
		msg     string // in the error
	}{
		{name: "wrong imprint",
			resp:    issue(tt.a, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: otherSum[:], Nonce: nonce, Certificates: true}),
			unbound: true, msg: "imprint"},
		{name: "wrong nonce",
			resp:    issue(tt.a, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: big.NewInt(1), Certificates: true}),
			unbound: true, msg: "nonce"},
		{name: "nonce dropped",
			resp:    issue(tt.a, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: true}),
			unbound: true, msg: "nonce"},
		{name: "replayed response for another request",
			// Same data, but the answer to an earlier request (another nonce).
			resp:    issue(tt.a, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: big.NewInt(424241), Certificates: true}),
			unbound: true, msg: "replayed"},
		{name: "untrusted chain", resp: issue(other.a, req), msg: "does not verify against any trusted"},
		{name: "no trusted authority", resp: good, trusted: []root.TimestampingAuthority{}, msg: "no trusted timestamp authority"},
		{name: "garbage DER", resp: []byte("\x30\x03\x02\x01"), msg: "malformed"},
		{name: "not DER at all", resp: []byte("<html>502 Bad Gateway</html>"), msg: "malformed"},
		{name: "truncated token", resp: good[:len(good)/2], msg: "malformed"},
		{name: "rejection", resp: tt.a.refusals[timestamp.BadAlgorithm], msg: "refused"},
		{name: "imprint over other bytes", resp: good, sig: []byte("not the signature"), msg: "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{Trusted: tt.trusted()}
			if tc.trusted != nil {
				c.Trusted = tc.trusted
			}
			s := sig
			if tc.sig != nil {
				s = tc.sig
			}
			_, err := c.Check(tc.resp, req, s)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := errors.Is(err, ErrUnbound); got != tc.unbound {
				t.Errorf("errors.Is(err, ErrUnbound) = %v, want %v: %v", got, tc.unbound, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		c := &Client{Trusted: tt.trusted()}
		if _, err := c.Check(good, req, sig); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("genTime skew", func(t *testing.T) {
		c := &Client{Trusted: tt.trusted(), Now: func() time.Time { return time.Now().Add(time.Hour) }}
		if _, err := c.Check(good, req, sig); !errors.Is(err, ErrUnbound) {
			t.Fatalf("err = %v, want ErrUnbound", err)
		}
	})
}

// TestClientHTTPErrors: a TSA that answers with HTTP errors is not retried on 4xx.
func TestClientHTTPErrors(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	srv := tt.server(t, ServerOptions{MaxRequestSize: 10})
	c := &Client{URLs: []string{srv.URL}, Trusted: tt.trusted(), HTTPClient: testHTTP}
	_, err := c.Timestamp(t.Context(), []byte("sig"))
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("err = %v, want HTTP 413", err)
	}
}

func mustDevChain(t *testing.T) *DevChain {
	t.Helper()
	d, err := NewDevChain(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestClientZeroValueNeedsAll: a Client that sets no Mode requires every authority:
// with one of two down it fails instead of settling for the other's token.
func TestClientZeroValueNeedsAll(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	srv := tt.server(t, ServerOptions{})
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c := &Client{URLs: []string{srv.URL + "/", down.URL + "/"}, Policy: DefaultPolicy, Trusted: tt.trusted()}
	if toks, err := c.Timestamp(t.Context(), []byte("sig")); err == nil {
		t.Fatalf("zero-value Mode settled for %d of 2 authorities", len(toks))
	}
	c.Mode = Any
	if toks, err := c.Timestamp(t.Context(), []byte("sig")); err != nil || len(toks) != 1 {
		t.Fatalf("Any: %d tokens, %v", len(toks), err)
	}
}

// TestClientRetries: the client is wired to retry a 503 (waiting through Sleep) and
// not a 400; the behaviour itself is internal/httpretry's.
func TestClientRetries(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	defer srv.Close()
	waits := 0
	c := &Client{URLs: []string{srv.URL}, Sleep: func(context.Context, time.Duration) error { waits++; return nil }}
	_, err := c.Timestamp(t.Context(), []byte("sig"))
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || calls != 2 || waits != 1 {
		t.Fatalf("err %v after %d calls, %d waits", err, calls, waits)
	}
}
