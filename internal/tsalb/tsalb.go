// Package tsalb is the load balancer of the timestamp authority's replica test and
// benchmark, standing in for the Kubernetes Service or HAProxy in front of `cachet tsa
// serve` replicas: round robin over the backends whose /readyz answers, and a request
// that could not be delivered (connection refused or reset before an answer) goes to
// the next backend, as HAProxy's `retry-on conn-failure empty-response` with
// `option redispatch` does. It counts, per backend, the requests a backend accepted and
// never answered ("lost"): what a replica that stops gracefully must never do.
package tsalb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// maxBody bounds a proxied request; timestamp requests are a few hundred bytes.
const maxBody = 64 << 10

// Balancer is an http.Handler proxying POSTs to its backends.
type Balancer struct {
	backends []*backend
	client   *http.Client
	next     atomic.Uint64
}

type backend struct {
	url                 atomic.Pointer[string]
	ready               atomic.Bool
	served, lost, undel atomic.Int64
}

// Stats are one backend's counts.
type Stats struct {
	URL string
	// Served requests got an answer from this backend.
	Served int64
	// Lost requests were delivered (written whole) and got no answer; the balancer
	// sent them on to another backend.
	Lost int64
	// Undelivered requests could not be sent (refused connection); sent elsewhere.
	Undelivered int64
}

// New balances over the backends (base URLs such as http://127.0.0.1:8080). Call
// Health to keep their readiness current; all start ready.
func New(backends ...string) *Balancer {
	b := &Balancer{client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
	}}}
	for _, u := range backends {
		be := &backend{}
		be.url.Store(&u)
		be.ready.Store(true)
		b.backends = append(b.backends, be)
	}
	return b
}

// Health polls every backend's /readyz each interval until ctx ends.
func (b *Balancer) Health(ctx context.Context, interval time.Duration) {
	hc := &http.Client{Timeout: interval}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, be := range b.backends {
			resp, err := hc.Get(be.base() + "/readyz")
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			be.ready.Store(ok)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (be *backend) base() string { return *be.url.Load() }

// Move points backend i (in the order given to New) at a new base URL: a replica that
// came back on another address. Its counts stay.
func (b *Balancer) Move(i int, base string) { b.backends[i].url.Store(&base) }

// Stats returns every backend's counts, in the order given to New.
func (b *Balancer) Stats() []Stats {
	var s []Stats
	for _, be := range b.backends {
		s = append(s, Stats{URL: be.base(), Served: be.served.Load(), Lost: be.lost.Load(), Undelivered: be.undel.Load()})
	}
	return s
}

func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	// Two passes: ready backends first, then any (readiness may lag a restart).
	for pass := range 2 {
		for i := range n {
			be := b.backends[(start+i)%n]
			if pass == 0 && !be.ready.Load() {
				continue
			}
			if b.try(w, r, be, body) {
				return
			}
		}
	}
	http.Error(w, "no backend answered", http.StatusBadGateway)
}

// try sends the request to be and copies its answer; false when be gave none.
func (b *Balancer) try(w http.ResponseWriter, r *http.Request, be *backend, body []byte) bool {
	var wrote atomic.Bool
	ctx := httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	})
	req, err := http.NewRequestWithContext(ctx, r.Method, be.base()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header = r.Header.Clone()
	// Replayable: net/http resends it on a fresh connection when a kept-alive one
	// turns out closed by the server before it read anything (a graceful stop). A nil
	// value marks the request so without sending the header.
	req.Header["Idempotency-Key"] = nil
	resp, err := b.client.Do(req)
	if err == nil {
		var data []byte
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err == nil {
			be.served.Add(1)
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			w.Write(data)
			return true
		}
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return true // the client went away
	}
	if wrote.Load() {
		be.lost.Add(1)
	} else {
		be.undel.Add(1)
	}
	return false
}
