package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	rekorclient "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/util"
)

// Why not the rekor client's own retries: GetRekorClient wraps go-retryablehttp, whose
// DefaultBackoff is exponential without jitter (parallel workers that fail together retry
// together), obeys any Retry-After however long (an hour-long header stalls the run
// until its deadline), and builds a transport with keep-alives off, so every entry costs
// a new connection. Retrier keeps connections, jitters, and bounds every wait.

// ErrRetryAfterTooLong means the log asked us to wait longer than we are willing to.
var ErrRetryAfterTooLong = errors.New("rekor: server asked to retry later than the retry bound")

// Retrier is an http.RoundTripper that retries transport errors, 429 and 5xx (but 501)
// with jittered exponential backoff, honouring Retry-After up to MaxRetryAfter. Request
// bodies are buffered (Rekor requests are a few KiB) so they can be sent again. Creating
// a log entry twice is safe: the second answer is 409 and Add fetches the entry.
type Retrier struct {
	Next    http.RoundTripper // http.DefaultTransport when nil
	Retries int               // retries after the first attempt
	// Min and Max bound the backoff: attempt n waits a uniformly random duration in
	// [d/2, d] with d = min(Max, Min·2ⁿ) ("equal jitter").
	Min, Max time.Duration
	// MaxRetryAfter is the longest Retry-After obeyed; a longer one ends the retries with
	// ErrRetryAfterTooLong. 30 s when zero.
	MaxRetryAfter time.Duration
	// Rand returns a float in [0, 1); math/rand/v2 when nil.
	Rand func() float64
	// Sleep waits for d or until ctx is done; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// maxBufferedBody caps what Retrier buffers to replay a request.
const maxBufferedBody = 16 << 20

// RoundTrip implements http.RoundTripper.
func (r *Retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	next := r.Next
	if next == nil {
		next = http.DefaultTransport
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBufferedBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("rekor: read request body: %w", err)
		}
		if len(b) > maxBufferedBody {
			return nil, errors.New("rekor: request body too large to retry")
		}
		body = b
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		try := req.Clone(ctx)
		if body != nil {
			try.Body = io.NopCloser(bytes.NewReader(body))
			try.ContentLength = int64(len(body))
			try.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		resp, err := next.RoundTrip(try)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		retry, wait := r.decide(attempt, resp, err)
		if !retry || attempt >= r.Retries {
			if err != nil {
				return nil, fmt.Errorf("after %d attempt(s): %w", attempt+1, err)
			}
			return resp, nil
		}
		if wait < 0 {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: Retry-After %q (HTTP %d) exceeds %s", ErrRetryAfterTooLong,
				resp.Header.Get("Retry-After"), resp.StatusCode, r.maxRetryAfter())
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then drop the answer.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		sleep := r.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether to retry and how long to wait; a negative wait means a
// Retry-After beyond the bound.
func (r *Retrier) decide(attempt int, resp *http.Response, err error) (bool, time.Duration) {
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil && errors.Is(ue.Err, http.ErrUseLastResponse) {
			return false, 0
		}
		return true, r.backoff(attempt)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
	default:
		return false, 0
	}
	wait := r.backoff(attempt)
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		if ra > r.maxRetryAfter() {
			return true, -1
		}
		// Honour the server's floor, keep jitter above it so workers spread out.
		if ra > wait {
			wait = ra + time.Duration(r.rand()*float64(r.min()))
		}
	}
	return true, wait
}

func (r *Retrier) min() time.Duration {
	if r.Min <= 0 {
		return 100 * time.Millisecond
	}
	return r.Min
}

func (r *Retrier) maxRetryAfter() time.Duration {
	if r.MaxRetryAfter <= 0 {
		return 30 * time.Second
	}
	return r.MaxRetryAfter
}

func (r *Retrier) rand() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

func (r *Retrier) backoff(attempt int) time.Duration {
	d := r.min()
	max := r.Max
	if max <= 0 {
		max = 5 * time.Second
	}
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(r.rand()*float64(d/2))
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
		if s > 1<<20 {
			s = 1 << 20
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sharedTransport keeps connections to the log alive across entries and workers.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// As many idle connections as a run has workers (--parallel is at most 256), so a
	// worker's next entry reuses one instead of dialling again.
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	// A log that accepts the connection and never answers is retried, not waited on
	// until the run's deadline.
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}()

// client returns the generated Rekor client over a Retrier, built once per Rekor.
func (c *Rekor) client() (*rekorclient.Rekor, uint, error) {
	st := &c.state
	retries := c.Retries
	if retries == 0 {
		retries = 3
	}
	st.once.Do(func() {
		var u *url.URL
		var hc *http.Client
		u, hc, st.err = retrying(c.URL, retries, c.RetryWait, c.MaxRetryAfter, c.HTTPClient)
		if st.err != nil {
			return
		}
		if u.Path == "" {
			u.Path = rekorclient.DefaultBasePath
		}
		tr := httptransport.NewWithClient(u.Host, u.Path, []string{u.Scheme}, hc)
		tr.Consumers["application/json"] = runtime.JSONConsumer()
		tr.Consumers["application/x-pem-file"] = runtime.TextConsumer()
		tr.Producers["application/json"] = runtime.JSONProducer()
		reg := strfmt.NewFormats()
		reg.Add("signedCheckpoint", &util.SignedNote{}, util.SignedCheckpointValidator)
		st.rc = rekorclient.New(tr, reg)
	})
	return st.rc, retries, st.err
}

// retrying checks a log's base URL and returns an HTTP client that sends through a
// Retrier over hc's transport (the shared keep-alive transport when hc is nil).
func retrying(rawURL string, retries uint, wait, maxRetryAfter time.Duration, hc *http.Client) (*url.URL, *http.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("rekor: --rekor-url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, nil, fmt.Errorf("rekor: --rekor-url %q is not an http(s) URL", rawURL)
	}
	if wait == 0 {
		wait = time.Second
	}
	if hc == nil {
		hc = &http.Client{Transport: sharedTransport, Timeout: 60 * time.Second}
	}
	rt := &Retrier{Next: hc.Transport, Retries: int(retries), Min: wait / 4, Max: wait * 4, MaxRetryAfter: maxRetryAfter}
	return u, &http.Client{Transport: &userAgent{rt}, Timeout: 0, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}, nil
}

// clientState is the generated client, built on first use.
type clientState struct {
	once sync.Once
	rc   *rekorclient.Rekor
	err  error
}

type userAgent struct{ next http.RoundTripper }

func (u *userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "cachet")
	return u.next.RoundTrip(r)
}
