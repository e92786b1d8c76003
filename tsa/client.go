package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Mode says how many authorities must answer. The zero value is All: a Client that
// names several authorities and says nothing more gets a token from each, or fails.
type Mode int

const (
	// All: a valid token from every authority, or an error.
	All Mode = iota
	// Any: the first valid token wins; the next authority is tried on failure.
	Any
)

// defaultHTTPClient is used when Client.HTTPClient is nil: never one without a timeout.
var defaultHTTPClient = &http.Client{Transport: httpretry.KeepAlive, Timeout: 30 * time.Second}

// ErrUnbound means a response does not answer our request.
var ErrUnbound = errors.New("tsa: response does not match the request")

// Client requests timestamps.
type Client struct {
	URLs       []string // full endpoint URLs, e.g. https://timestamp.sigstore.dev/api/v1/timestamp
	Mode       Mode
	Policy     asn1.ObjectIdentifier // requested policy; any when nil
	Trusted    []root.TimestampingAuthority
	HTTPClient *http.Client
	Retries    int // retries on transport errors, 429 and 5xx; 0 means 3
	// Sleep waits between attempts (jittered backoff from 300 ms, or the TSA's
	// Retry-After up to a minute; see internal/httpretry); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	Skew  time.Duration // allowed |genTime - now|; 1 minute when zero
	Rand  io.Reader
}

// Token is one verified timestamp: the DER TimeStampResp as Sigstore bundles carry it.
type Token struct {
	URL      string
	Response []byte
	Time     time.Time
}

// Timestamp gets tokens over signature (imprint: SHA-256 of the signature bytes, as
// Sigstore bundles expect).
func (c *Client) Timestamp(ctx context.Context, signature []byte) ([]Token, error) {
	if len(c.URLs) == 0 {
		return nil, errors.New("tsa: no timestamp authority URL")
	}
	var toks []Token
	var errs []error
	for _, u := range c.URLs {
		t, err := c.one(ctx, u, signature)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			if c.Mode == All {
				return nil, errors.Join(errs...)
			}
			continue
		}
		toks = append(toks, t)
		if c.Mode == Any {
			return toks, nil
		}
	}
	if len(toks) == 0 {
		return nil, errors.Join(errs...)
	}
	return toks, nil
}

func (c *Client) one(ctx context.Context, url string, signature []byte) (Token, error) {
	rnd := c.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	nonce, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return Token{}, err
	}
	sum := sha256.Sum256(signature)
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: nonce, Certificates: true, TSAPolicyOID: c.Policy}
	der, err := req.Marshal()
	if err != nil {
		return Token{}, err
	}
	resp, err := c.post(ctx, url, der)
	if err != nil {
		return Token{}, err
	}
	ts, err := c.Check(resp, &req, signature)
	if err != nil {
		return Token{}, err
	}
	return Token{URL: url, Response: resp, Time: ts.Time}, nil
}

// Check binds a DER TimeStampResp to req and verifies it against the trusted TSAs.
func (c *Client) Check(resp []byte, req *timestamp.Request, signature []byte) (*timestamp.Timestamp, error) {
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("tsa: response refused or malformed: %w", err)
	}
	if ts.HashAlgorithm != req.HashAlgorithm || !bytes.Equal(ts.HashedMessage, req.HashedMessage) {
		return nil, fmt.Errorf("%w: message imprint differs", ErrUnbound)
	}
	if req.Nonce != nil && (ts.Nonce == nil || ts.Nonce.Cmp(req.Nonce) != 0) {
		return nil, fmt.Errorf("%w: nonce differs (a replayed or foreign response)", ErrUnbound)
	}
	if len(req.TSAPolicyOID) > 0 && !ts.Policy.Equal(req.TSAPolicyOID) {
		return nil, fmt.Errorf("%w: policy %v, asked %v", ErrUnbound, ts.Policy, req.TSAPolicyOID)
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	skew := c.Skew
	if skew == 0 {
		skew = time.Minute
	}
	if d := ts.Time.Sub(now); d > skew || d < -skew {
		return nil, fmt.Errorf("%w: genTime %s is %s from local time", ErrUnbound, ts.Time.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	if len(c.Trusted) == 0 {
		return nil, errors.New("tsa: no trusted timestamp authority in the trusted root; add it, or sign without a timestamp authority")
	}
	var errs []error
	for _, ta := range c.Trusted {
		// Verify checks the CMS signature, the chain to the TSA's root, the critical
		// timeStamping EKU and the imprint over signature (sigstore-go / timestamp-authority).
		var err error
		if pv, ok := ta.(parsedVerifier); ok {
			_, err = pv.VerifyParsed(ts, resp, signature)
		} else {
			_, err = ta.Verify(resp, signature)
		}
		if err == nil {
			return ts, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("tsa: token does not verify against any trusted timestamp authority: %w", errors.Join(errs...))
}

// parsedVerifier is a trusted TSA that takes the token as Check has just parsed it from
// the same bytes with timestamp.ParseResponse (cachet verify's cached TSAs, which a
// signing run shares with its self-check), so the token's CMS signature, verified by
// that parse, is not verified again.
type parsedVerifier interface {
	VerifyParsed(parsed *timestamp.Timestamp, resp, signature []byte) (*root.Timestamp, error)
}

// post sends the request, retried by httpretry: a second token for the same request
// is harmless, so the POST is retried like a GET.
func (c *Client) post(ctx context.Context, url string, body []byte) ([]byte, error) {
	retries := c.Retries
	if retries == 0 {
		retries = 3
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	rt := &httpretry.Transport{Attempts: retries + 1, MinBackoff: 300 * time.Millisecond, MaxWait: time.Minute,
		Retryable: httpretry.AnyMethod, Sleep: c.Sleep}
	hc = httpretry.Wrap(hc, rt)
	unreachable := func(err error) error { return fmt.Errorf("unreachable after %d attempts: %w", retries+1, err) }
	resp, b, err := rt.ReadAll(ctx, hc, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/timestamp-query")
		return req, nil
	}, 1<<20)
	if err != nil {
		return nil, unreachable(err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		return b, nil
	}
	err = fmt.Errorf("HTTP %s", resp.Status)
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return nil, err
	}
	return nil, unreachable(err) // the transport's attempts are spent
}
