package tsa

import (
	"bytes"
	"errors"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
)

// MaxRequestSize is the default request body limit. A TimeStampReq with a SHA-512
// imprint, a policy, a nonce and no extensions is under 200 bytes.
const MaxRequestSize = 64 << 10

// ServerOptions configure Handler. The zero value limits bodies to MaxRequestSize and
// does not rate-limit.
type ServerOptions struct {
	// MaxRequestSize is the body limit in bytes; MaxRequestSize when zero. Larger bodies
	// get HTTP 413.
	MaxRequestSize int64
	// RateLimit is the sustained requests per second allowed per client IP (a token
	// bucket of RateBurst); zero or negative disables the limit.
	RateLimit float64
	// RateBurst is the bucket size; max(1, RateLimit) when zero.
	RateBurst int
	// Audit records requests refused before they reach the authority (size, rate);
	// the authority's logger when nil.
	Audit *audit.Logger
	// Metrics, when not nil, counts tokens, refusals and latency.
	Metrics *Metrics
	// Ready answers GET /readyz: while it returns false (a replica draining before it
	// stops) the endpoint says 503, so a load balancer stops sending new requests; the
	// replica still answers those it gets. Always ready when nil.
	Ready func() bool
	Now   func() time.Time
}

// Handler serves the authority over HTTP (RFC 3161 section 3.4, and the paths of
// Sigstore's timestamp-authority):
//
//	POST /, POST /api/v1/timestamp                  application/timestamp-query -> application/timestamp-reply
//	GET  /certchain, GET /api/v1/timestamp/certchain PEM chain, leaf first
//	GET  /healthz                                    "ok" (liveness)
//	GET  /readyz                                     "ready", or 503 "draining" (readiness)
//
// Refused requests still get a TimeStampResp with status rejection and HTTP 200, as RFC
// 3161 asks; HTTP errors are for what is not a timestamp request at all (wrong method
// or content type: 405, 415), too large (413) or too many (429 with Retry-After).
func Handler(a *Authority, o ServerOptions) http.Handler {
	s := &server{a: a, o: o, chainPEM: EncodeChain(a.Chain()...)}
	if s.o.MaxRequestSize <= 0 {
		s.o.MaxRequestSize = MaxRequestSize
	}
	if s.o.Now == nil {
		s.o.Now = time.Now
	}
	if s.o.Audit == nil {
		s.o.Audit = a.audit
	}
	if o.RateLimit > 0 {
		burst := float64(o.RateBurst)
		if burst <= 0 {
			burst = math.Max(1, o.RateLimit)
		}
		s.limiter = newLimiter(o.RateLimit, burst)
	}
	s.bufs.New = func() any { return &buffers{resp: make([]byte, 0, 2048)} }
	s.signing = make(chan struct{}, runtime.GOMAXPROCS(0))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.timestamp)
	mux.HandleFunc("POST /api/v1/timestamp", s.timestamp)
	mux.HandleFunc("GET /certchain", s.certchain)
	mux.HandleFunc("GET /api/v1/timestamp/certchain", s.certchain)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil && !o.Ready() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}

type server struct {
	a        *Authority
	o        ServerOptions
	chainPEM []byte
	limiter  *limiter
	bufs     sync.Pool // *buffers
	// signing admits GOMAXPROCS requests at a time. Waiters queue in arrival order on
	// the channel instead of all 64 (or 6400) being time-sliced together, which keeps
	// the latency tail close to the median under load.
	signing chan struct{}
}

// buffers are one request's body and response, reused across requests.
type buffers struct {
	req  bytes.Buffer
	resp []byte
}

func (s *server) timestamp(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	client := clientIP(r.RemoteAddr)
	if s.limiter != nil {
		if wait := s.limiter.take(client, s.o.Now()); wait > 0 {
			s.audit(client, "rate limited")
			s.o.Metrics.observe(start, false, reasonRateLimited)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/timestamp-query" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/timestamp-query" {
			s.audit(client, "content type "+strconv.Quote(ct))
			s.o.Metrics.observe(start, false, reasonContentType)
			http.Error(w, "want Content-Type: application/timestamp-query", http.StatusUnsupportedMediaType)
			return
		}
	}
	if r.ContentLength > s.o.MaxRequestSize {
		s.tooLarge(w, client)
		s.o.Metrics.observe(start, false, reasonTooLarge)
		return
	}
	bufs := s.bufs.Get().(*buffers)
	defer s.bufs.Put(bufs)
	buf := &bufs.req
	buf.Reset()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.o.MaxRequestSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.tooLarge(w, client)
			s.o.Metrics.observe(start, false, reasonTooLarge)
			return
		}
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		s.o.Metrics.observe(start, false, reasonUnreadable)
		return
	}
	s.signing <- struct{}{}
	resp, iss, ref := s.a.respond(bufs.resp[:0], buf.Bytes(), client)
	<-s.signing
	if s.o.Metrics != nil {
		reason := ""
		var r *Refusal
		if errors.As(ref, &r) {
			reason = failureReason(r.Info)
		}
		defer s.o.Metrics.observe(start, iss != nil, reason)
	}
	if iss != nil {
		bufs.resp = resp // a token, in our buffer; refusals are shared
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/timestamp-reply"}
	h["Content-Length"] = []string{strconv.Itoa(len(resp))}
	w.Write(resp)
}

func (s *server) tooLarge(w http.ResponseWriter, client string) {
	s.audit(client, "request larger than "+strconv.FormatInt(s.o.MaxRequestSize, 10)+" bytes")
	http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
}

func (s *server) audit(client, reason string) {
	_ = s.o.Audit.Log(audit.Event{Event: EventRefused, Reason: reason, Client: client})
}

func (s *server) certchain(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.Write(s.chainPEM)
}

func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// limiter is a token bucket per client IP.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
	sweepAt     int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: map[string]*bucket{}, sweepAt: 1024}
}

// take spends one token for client, or returns how long until one is available.
func (l *limiter) take(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[client]
	if b == nil {
		if len(l.buckets) >= l.sweepAt {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[client] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweepLocked forgets clients whose bucket has refilled: they are as if new. The
// threshold doubles with the live set so sweeping stays amortised O(1).
func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.sweepAt = max(1024, 2*len(l.buckets))
}
