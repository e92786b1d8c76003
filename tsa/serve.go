package tsa

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrShutdownTimeout: requests were still in flight when the grace period ended.
var ErrShutdownTimeout = errors.New("requests still in flight after the shutdown timeout")

// ServeOptions run an Authority as an HTTP service.
type ServeOptions struct {
	Addr        string // listen address; the chosen one is printed on Stdout
	MetricsAddr string // serve Metrics at /metrics here (off when empty)
	Metrics     *prometheus.Registry
	Server      ServerOptions // the handler's limits, audit and metrics (Ready is set here)
	Drain       time.Duration // on stop: report not ready and keep serving this long
	Grace       time.Duration // then: how long requests in flight may take to finish
	Replica     int           // said in the serving line
	Stdout      io.Writer     // the serving lines (addresses), which callers parse
	Stderr      io.Writer     // the stop's progress
}

// Serve answers timestamp requests until ctx ends, then stops gracefully: not ready
// first (a load balancer stops sending), serving for Drain, then no new connections and
// up to Grace for what is in flight. It returns when every request was answered (the
// time the stop began) or with ErrShutdownTimeout.
func Serve(ctx context.Context, a *Authority, o ServeOptions) (stopAt time.Time, err error) {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return time.Time{}, fmt.Errorf("listen: %w", err)
	}
	var draining atomic.Bool
	var conns Conns
	so := o.Server
	so.Ready = func() bool { return !draining.Load() }
	srv := &http.Server{
		ConnState:         conns.State,
		Handler:           Handler(a, so),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 2)
	var msrv *http.Server
	if o.MetricsAddr != "" {
		mln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			ln.Close()
			return time.Time{}, fmt.Errorf("metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
		fmt.Fprintf(o.Stdout, "cachet tsa: metrics on http://%s/metrics\n", mln.Addr())
	}
	fmt.Fprintf(o.Stdout, "cachet tsa: serving http://%s (policy %s, replica %d)\n", ln.Addr(), a.Policy(), o.Replica)
	go func() { errc <- srv.Serve(conns.Listen(ln)) }()
	select {
	case err := <-errc:
		return time.Time{}, fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	stopAt = time.Now()
	fmt.Fprintf(o.Stderr, "cachet tsa: %v: draining (not ready), stopping in %s\n", context.Cause(ctx), o.Drain)
	time.Sleep(o.Drain)
	fmt.Fprintf(o.Stderr, "cachet tsa: closing the listener; waiting up to %s for requests in flight\n", o.Grace)
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	// Shutdown closes idle connections itself but waits for new ones that have not
	// sent a request yet; nothing will come on those now.
	swept := make(chan struct{})
	defer close(swept)
	go func() {
		for t := time.NewTicker(50 * time.Millisecond); ; {
			conns.CloseUnused()
			select {
			case <-t.C:
			case <-swept:
				t.Stop()
				return
			}
		}
	}()
	if err := srv.Shutdown(sctx); err != nil {
		return stopAt, fmt.Errorf("shutdown: %w (%s): %w", ErrShutdownTimeout, o.Grace, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return stopAt, fmt.Errorf("serve: %w", err)
	}
	if msrv != nil {
		msrv.Shutdown(sctx)
	}
	return stopAt, nil
}
