// Package faultproxy is a reverse proxy on 127.0.0.1 that injects faults in front of a
// real service (Rekor, the TSA, Fulcio) for tests: it drops connections before or after
// forwarding, delays, and answers 429 or 500, each at a set rate from a seeded source,
// and for at most MaxFaults requests. It only serves tests: it refuses to listen on
// anything but loopback and never reads credentials.
package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Config sets the fault rates (each a probability in [0, 1]; they are tried in this order
// and at most one fault is injected per request).
type Config struct {
	Seed uint64
	// Drop closes the connection without an answer; the service never sees the request.
	Drop float64
	// DropAfter forwards the request, then closes the connection without passing the
	// answer on: the service acted (a log entry exists), the client does not know.
	DropAfter float64
	// TooMany answers 429 with Retry-After: RetryAfter.
	TooMany    float64
	RetryAfter string // "1" when empty
	// ServerError answers 500.
	ServerError float64
	// Delay holds the request for up to DelayMax (uniform) before forwarding.
	Delay    float64
	DelayMax time.Duration
	// MaxFaults bounds the faults injected; 0 means no bound.
	MaxFaults int
	// Faulty picks the requests that may get faults; all when nil.
	Faulty func(r *http.Request) bool
	// Always, when it returns true for a request (its body is readable again), answers
	// 503 every time: a subject that can never be logged.
	Always func(r *http.Request, body []byte) bool
	// Rewrite, when set, replaces the body of every answer the service gives (a forged
	// or corrupted answer; the request is the one the service answered).
	Rewrite func(r *http.Request, status int, body []byte) []byte
}

// Stats count what the proxy did.
type Stats struct {
	Requests, Drops, DropsAfter, TooMany, ServerErrors, Delays, Always int
	// Upstream counts the service's status codes, passed on or not.
	Upstream map[int]int
}

// Faults is the number of injected faults (Always answers excluded).
func (s Stats) Faults() int { return s.Drops + s.DropsAfter + s.TooMany + s.ServerErrors + s.Delays }

// Proxy is a running fault proxy.
type Proxy struct {
	URL string // http://127.0.0.1:PORT

	cfg   Config
	srv   *http.Server
	ln    net.Listener
	rp    *httputil.ReverseProxy
	mu    sync.Mutex
	rnd   *rand.Rand
	stats Stats
}

// Start proxies to target (http://HOST:PORT) on a free loopback port.
func Start(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, errors.New("faultproxy: target must be http://HOST:PORT")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), cfg: cfg, ln: ln,
		rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), stats: Stats{Upstream: map[int]int{}}}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ModifyResponse = func(r *http.Response) error {
		p.mu.Lock()
		p.stats.Upstream[r.StatusCode]++
		rewrite := p.cfg.Rewrite
		p.mu.Unlock()
		if rewrite == nil {
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body.Close()
		if err != nil {
			return err
		}
		body = rewrite(r.Request, r.StatusCode, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Upstream = map[int]int{}
	for k, v := range p.stats.Upstream {
		s.Upstream[k] = v
	}
	return s
}

// SetConfig replaces the fault configuration (the seed's sequence goes on).
func (p *Proxy) SetConfig(cfg Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
}

type fault int

const (
	none fault = iota
	drop
	dropAfter
	tooMany
	serverError
	delay
)

// pick draws the fault for one request and counts it.
func (p *Proxy) pick(r *http.Request) (fault, time.Duration, Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	c := p.cfg
	if c.Faulty != nil && !c.Faulty(r) {
		return none, 0, c
	}
	if c.MaxFaults > 0 && p.stats.Faults() >= c.MaxFaults {
		return none, 0, c
	}
	x := p.rnd.Float64()
	for _, f := range []struct {
		rate float64
		f    fault
		n    *int
	}{
		{c.Drop, drop, &p.stats.Drops}, {c.DropAfter, dropAfter, &p.stats.DropsAfter},
		{c.TooMany, tooMany, &p.stats.TooMany}, {c.ServerError, serverError, &p.stats.ServerErrors},
		{c.Delay, delay, &p.stats.Delays},
	} {
		if x < f.rate {
			*f.n++
			var d time.Duration
			if f.f == delay && c.DelayMax > 0 {
				d = time.Duration(p.rnd.Int64N(int64(c.DelayMax)))
			}
			return f.f, d, c
		}
		x -= f.rate
	}
	return none, 0, c
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, d, c := p.pick(r)
	if c.Always != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			hangUp(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if c.Always(r, body) {
			p.mu.Lock()
			p.stats.Always++
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":503,"message":"faultproxy: this request always fails"}`)
			return
		}
	}
	switch f {
	case drop:
		hangUp(w)
		return
	case tooMany:
		ra := c.RetryAfter
		if ra == "" {
			ra = "1"
		}
		w.Header().Set("Retry-After", ra)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"code":429,"message":"faultproxy: rate limited"}`)
		return
	case serverError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"code":500,"message":"faultproxy: injected error"}`)
		return
	case delay:
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	case dropAfter:
		rec := &discard{h: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		hangUp(w)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// hangUp closes the client's connection with no answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// discard is a ResponseWriter that forgets the answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
