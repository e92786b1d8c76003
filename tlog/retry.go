package tlog

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
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
// a new connection. httpretry keeps connections, jitters, and bounds every wait. Creating
// a log entry twice is safe (the second answer is 409 and Add fetches the entry), so
// POSTs are retried; their bodies (a few KiB) are buffered to be sent again.

// maxBufferedBody caps what is buffered to replay a request.
const maxBufferedBody = 16 << 20

// sharedTransport keeps connections to the log alive across entries and workers.
var sharedTransport = httpretry.KeepAlive

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
		u, hc, st.err = retrying(c.URL, retries, c.RetryWait, c.MaxRetryAfter, c.HTTPClient, c.Sleep)
		if st.err != nil {
			return
		}
		if u.Path == "" {
			u.Path = rekorclient.DefaultBasePath
		}
		st.hc = hc
		st.entriesURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/") + "/api/v1/log/entries"}).String()
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

// retrying checks a log's base URL and returns an HTTP client that retries over hc's
// transport (the shared keep-alive transport when hc is nil); hc's Timeout bounds each
// attempt. Retry-After beyond maxRetryAfter fails with httpretry.ErrWaitTooLong.
func retrying(rawURL string, retries uint, wait, maxRetryAfter time.Duration, hc *http.Client, sleep func(context.Context, time.Duration) error) (*url.URL, *http.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("rekor: log URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, nil, fmt.Errorf("rekor: log URL %q is not an http(s) URL", rawURL)
	}
	if wait == 0 {
		wait = time.Second
	}
	if hc == nil {
		hc = &http.Client{Transport: sharedTransport, Timeout: 60 * time.Second}
	}
	rc := httpretry.Wrap(hc, &httpretry.Transport{Attempts: int(retries) + 1, MinBackoff: wait / 4, MaxBackoff: wait * 4,
		MaxWait: maxRetryAfter, Retryable: httpretry.AnyMethod, MaxBufferedBody: maxBufferedBody, Sleep: sleep})
	rc.Transport = &userAgent{rc.Transport}
	return u, rc, nil
}

// clientState is the generated client, built on first use.
type clientState struct {
	once       sync.Once
	rc         *rekorclient.Rekor
	hc         *http.Client // the retrying client under rc, for create
	entriesURL string       // URL/api/v1/log/entries (the path createLogEntry has under the base path)
	err        error
}

type userAgent struct{ next http.RoundTripper }

func (u *userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "cachet")
	return u.next.RoundTrip(r)
}
