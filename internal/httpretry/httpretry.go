// Package httpretry is cachet's one retry policy for HTTP: a RoundTripper that sends a
// request again after a transport error, a 429 or a 5xx (and, for GitHub's REST API,
// a rate limit), waiting a jittered exponential backoff or what the server asked for
// (Retry-After, RFC 9110 §10.2.3; GitHub's x-ratelimit-reset), within a cap on the
// attempts and on the total wait, and never past the request's context.
//
// It refuses to send again what it cannot send faithfully: a request with a body it
// cannot replay (no GetBody), and a request that is not idempotent (RFC 9110 §9.2.2)
// unless the caller says a repeat is harmless (Retryable). A server that asks for a
// longer wait than the caller allows ends the retries at once with a *WaitError
// rather than stalling the run.
package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// KeepAlive is the transport for cachet's clients of Sigstore services (the logs, the
// TSAs, Fulcio, the token issuer): http.DefaultTransport keeps two idle connections per
// host, so a signing run with 128 workers dialled a new connection for most of its
// timestamp requests (224 TCP connections for 400 artifacts, each a connect, a close
// and the server's accept). KeepAlive keeps as many as a run has workers (--parallel
// is at most 256), and a server that accepts the connection and never answers is
// retried, not waited on until the run's deadline.
var KeepAlive = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}()

// ErrWaitTooLong is wrapped by every *WaitError.
var ErrWaitTooLong = errors.New("the server asked for a longer wait than allowed")

// WaitError means the server asked for a wait longer than Transport.MaxWait: a
// Retry-After, or a GitHub rate limit that resets too late.
type WaitError struct {
	Why    string        // "primary rate limit", "rate limited (429)", "server error 503"
	Wait   time.Duration // what the server asked for
	Max    time.Duration // Transport.MaxWait
	Bound  string        // Transport.MaxWaitName, or "the longest wait"
	Status int           // the answer's HTTP status
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s for %s, longer than %s %s", e.Why, e.Wait.Round(time.Second), e.Bound, e.Max)
}

// Is makes errors.Is(err, ErrWaitTooLong) true.
func (e *WaitError) Is(target error) bool { return target == ErrWaitTooLong }

// Transport is an http.RoundTripper that retries. The zero value (but Next) is
// usable: four attempts, idempotent requests only, Retry-After obeyed up to 30 s.
type Transport struct {
	Next http.RoundTripper // http.DefaultTransport when nil

	// Attempts is how many times a request is sent in all, the first included; 4
	// when zero.
	Attempts int
	// MinBackoff and MaxBackoff bound the wait when the server names none: retry n
	// waits a uniformly random duration in [d/2, d], d = min(MaxBackoff,
	// MinBackoff·2ⁿ⁻¹) ("equal jitter", so workers that failed together do not retry
	// together). 250 ms and 4 s when zero.
	MinBackoff, MaxBackoff time.Duration
	// Backoff, when set, replaces that: the wait before retry n (1-based).
	Backoff func(n int) time.Duration
	// MaxWait is the longest single wait a server may ask for (Retry-After, a rate
	// limit's reset); a longer one ends the retries with a *WaitError. 30 s when zero.
	MaxWait time.Duration
	// MaxWaitName names MaxWait in a WaitError's message (the setting that raises it).
	MaxWaitName string
	// MaxTotalWait caps the waits of one request added up: a retry that would exceed
	// it is not made, and the last answer is returned. 2 min when zero.
	MaxTotalWait time.Duration
	// Retryable says whether a request may be sent again at all; when nil, requests
	// with an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or an
	// Idempotency-Key header. A request with a body is sent again only when its
	// GetBody is set (or the body is buffered, see MaxBufferedBody).
	Retryable func(*http.Request) bool
	// MaxBufferedBody, when positive, lets a body without GetBody of up to that many
	// bytes be read into memory so that it can be sent again.
	MaxBufferedBody int64
	// GitHub reads GitHub's rate-limit answers: a 403 or 429 with
	// x-ratelimit-remaining: 0 waits for x-ratelimit-reset, a secondary rate limit
	// for Retry-After, else the reset, else a minute (docs.github.com, "Rate limits
	// for the REST API").
	GitHub bool
	// AttemptTimeout bounds each attempt, the reading of its body included, as
	// http.Client.Timeout bounds a request; none when zero.
	AttemptTimeout time.Duration

	// Log, when set, is told of each wait before it starts.
	Log func(ctx context.Context, why string, wait time.Duration)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits for d or until ctx is done; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0, 1); math/rand/v2 when nil.
	Rand func() float64
}

// Wrap returns a client that sends through a Transport t over hc's transport. hc's
// Timeout becomes t's AttemptTimeout (unless t sets one), so it bounds each attempt
// and not the waits between them. hc may be nil.
func Wrap(hc *http.Client, t *Transport) *http.Client {
	out := &http.Client{}
	if hc != nil {
		out.CheckRedirect, out.Jar = hc.CheckRedirect, hc.Jar
		if t.Next == nil {
			t.Next = hc.Transport
		}
		if t.AttemptTimeout == 0 {
			t.AttemptTimeout = hc.Timeout
		}
	}
	out.Transport = t
	return out
}

// AnyMethod is a Retryable for servers that make a repeated request harmless
// (Rekor answers 409 for an entry it has, a TSA or Fulcio issues another token).
func AnyMethod(*http.Request) bool { return true }

func idempotent(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Header.Get("Idempotency-Key") != "" || r.Header.Get("X-Idempotency-Key") != ""
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replay, err := t.replayable(req)
	if err != nil {
		return nil, err
	}
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	if replay == nil {
		attempts = 1
	}
	var spent time.Duration
	for n := 1; ; n++ {
		try := req
		if n > 1 || replay != nil && req.GetBody == nil {
			try = req.Clone(ctx)
			if replay != nil && req.Body != nil && req.Body != http.NoBody {
				if try.Body, err = replay(); err != nil {
					return nil, fmt.Errorf("replay request body: %w", err)
				}
			}
		}
		resp, err := t.once(try)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		why, wait, server := t.decide(n, resp, err)
		if why == "" {
			return resp, err
		}
		if server && wait > t.maxWait() {
			drain(resp)
			bound := t.MaxWaitName
			if bound == "" {
				bound = "the longest wait"
			}
			return nil, &WaitError{Why: why, Wait: wait, Max: t.maxWait(), Bound: bound, Status: resp.StatusCode}
		}
		if n >= attempts || spent+wait > t.maxTotalWait() {
			if err != nil {
				return nil, fmt.Errorf("after %d attempts: %w", n, err)
			}
			return resp, nil
		}
		drain(resp)
		if err := t.wait(ctx, why, wait); err != nil {
			return nil, err
		}
		spent += wait
	}
}

// replayable returns what makes the request's body again, or nil when the request
// must not be sent twice.
func (t *Transport) replayable(req *http.Request) (func() (io.ReadCloser, error), error) {
	retryable := t.Retryable
	if retryable == nil {
		retryable = idempotent
	}
	if !retryable(req) {
		return nil, nil
	}
	if req.Body == nil || req.Body == http.NoBody {
		return func() (io.ReadCloser, error) { return http.NoBody, nil }, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	if t.MaxBufferedBody <= 0 {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, t.MaxBufferedBody+1))
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(b)) > t.MaxBufferedBody {
		return nil, fmt.Errorf("request body larger than %d bytes cannot be retried", t.MaxBufferedBody)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// once sends one attempt, under AttemptTimeout when set.
func (t *Transport) once(req *http.Request) (*http.Response, error) {
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if t.AttemptTimeout <= 0 {
		return next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.AttemptTimeout)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{resp.Body, cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// decide says why to retry ("" for not), after how long, and whether the server
// named the wait (then MaxWait applies).
func (t *Transport) decide(n int, resp *http.Response, err error) (why string, wait time.Duration, server bool) {
	if err != nil {
		return "network error", t.backoff(n), false
	}
	h, code := resp.Header, resp.StatusCode
	now := t.now()
	ra, hasRA := parseRetryAfter(h.Get("Retry-After"), now)
	reset, hasReset := t.rateReset(h, now)
	switch {
	case t.GitHub && code == http.StatusForbidden && h.Get("X-RateLimit-Remaining") == "0" && hasReset:
		return "primary rate limit", t.jitter(reset), true
	case t.GitHub && code == http.StatusForbidden && secondary(resp):
		return "secondary rate limit", t.jitter(githubWait(ra, hasRA, reset, hasReset)), true
	case t.GitHub && code == http.StatusTooManyRequests:
		return "rate limited (429)", t.jitter(githubWait(ra, hasRA, reset, hasReset)), true
	case code == http.StatusTooManyRequests || code >= 500 && code != http.StatusNotImplemented:
		why = "server error " + strconv.Itoa(code)
		if code == http.StatusTooManyRequests {
			why = "rate limited (429)"
		}
		wait = t.backoff(n)
		if hasRA && ra >= wait {
			// Honour the server's floor; jitter above it so workers spread out.
			return why, t.jitter(ra), true
		}
		return why, wait, false
	}
	return "", 0, false
}

// githubWait is a secondary rate limit's wait, as GitHub documents it.
func githubWait(ra time.Duration, hasRA bool, reset time.Duration, hasReset bool) time.Duration {
	switch {
	case hasRA:
		return ra
	case hasReset:
		return reset
	}
	return time.Minute
}

// rateReset is the wait until x-ratelimit-reset (epoch seconds), plus a second so
// as not to arrive a moment early.
func (t *Transport) rateReset(h http.Header, now time.Time) (time.Duration, bool) {
	s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return 0, false
	}
	return max(0, time.Unix(s, 0).Sub(now)) + time.Second, true
}

// secondary reports a 403 that is one of GitHub's secondary rate limits, which only
// the body tells (go-github looks at documentation_url the same way). The body is
// put back for the caller.
func secondary(resp *http.Response) bool {
	if resp.Header.Get("Retry-After") != "" {
		return true
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	s := strings.ToLower(string(peek))
	return strings.Contains(s, "secondary rate limit") || strings.Contains(s, "abuse-rate-limits")
}

func (t *Transport) backoff(n int) time.Duration {
	if t.Backoff != nil {
		return t.Backoff(n)
	}
	lo, hi := t.MinBackoff, t.MaxBackoff
	if lo <= 0 {
		lo = 250 * time.Millisecond
	}
	if hi <= 0 {
		hi = 4 * time.Second
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(t.rand()*float64(d/2))
}

// jitter adds up to 250 ms to a wait the server named.
func (t *Transport) jitter(d time.Duration) time.Duration {
	return d + time.Duration(t.rand()*float64(250*time.Millisecond))
}

func (t *Transport) maxWait() time.Duration {
	if t.MaxWait <= 0 {
		return 30 * time.Second
	}
	return t.MaxWait
}

func (t *Transport) maxTotalWait() time.Duration {
	if t.MaxTotalWait <= 0 {
		return 2 * time.Minute
	}
	return t.MaxTotalWait
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) rand() float64 {
	if t.Rand != nil {
		return t.Rand()
	}
	return rand.Float64()
}

// drain reads a little of a dropped answer so its connection can be reused.
func drain(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// parseRetryAfter reads delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, 1<<20)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}

// wait tells Log of a wait, then sleeps it.
func (t *Transport) wait(ctx context.Context, why string, d time.Duration) error {
	if t.Log != nil {
		t.Log(ctx, why, d)
	}
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d, or until ctx is done (its error then).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Repeat runs op until it succeeds or fails for good, under t's attempts, backoff
// and total-wait cap: for failures the transport cannot see, such as a response body
// cut short after its headers. op returns again=true for an error worth another
// attempt; why is what Log is told.
func (t *Transport) Repeat(ctx context.Context, why string, op func() (again bool, err error)) error {
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	var spent time.Duration
	for n := 1; ; n++ {
		again, err := op()
		if err == nil || !again || ctx.Err() != nil {
			return err
		}
		wait := t.backoff(n)
		if n >= attempts || spent+wait > t.maxTotalWait() {
			return fmt.Errorf("after %d attempts: %w", n, err)
		}
		if werr := t.wait(ctx, why, wait); werr != nil {
			return fmt.Errorf("%w (while waiting: %v)", werr, err)
		}
		spent += wait
	}
}

// ReadAll sends the request newRequest makes through hc (a client over t) and reads
// up to limit bytes of the answer, whatever its status; an answer cut short is asked
// again (a new request, so it needs no GetBody) under t's caps. For small exchanges:
// a certificate, a timestamp.
func (t *Transport) ReadAll(ctx context.Context, hc *http.Client, newRequest func() (*http.Request, error), limit int64) (*http.Response, []byte, error) {
	var resp *http.Response
	var body []byte
	err := t.Repeat(ctx, "response cut short", func() (bool, error) {
		req, err := newRequest()
		if err != nil {
			return false, err
		}
		r, err := hc.Do(req)
		if err != nil {
			return false, err // the transport retried what was worth it
		}
		b, err := ReadBody(r, limit)
		r.Body.Close()
		if err != nil {
			return true, fmt.Errorf("read response: %w", err)
		}
		resp, body = r, b
		return false, nil
	})
	return resp, body, err
}

// ReadBody reads up to limit bytes of r's body, as io.ReadAll of an io.LimitReader
// does, into one buffer of the length the server announced (Content-Length) when that
// is within limit, rather than one grown from 512 bytes by doubling.
func ReadBody(r *http.Response, limit int64) ([]byte, error) {
	lr := io.LimitReader(r.Body, limit)
	if r.ContentLength < 0 || r.ContentLength >= limit {
		return io.ReadAll(lr)
	}
	b := make([]byte, 0, r.ContentLength+1) // +1: the read that meets EOF needs room
	for {
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case len(b) == cap(b):
			b = append(b, 0)[:len(b)] // more than announced: grow as ReadAll would
		}
	}
}
