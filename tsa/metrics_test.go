package tsa

import (
	"crypto"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsAndReadiness: issued tokens, refusals by reason and latency are counted;
// /readyz follows Ready while /healthz stays up.
func TestMetricsAndReadiness(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	ready.Store(true)
	srv := tt.server(t, ServerOptions{Metrics: m, Ready: ready.Load})

	_, der := request(t, []byte("a"), crypto.SHA256, randomNonce(t), nil)
	for range 3 {
		post(t, srv.URL, der)
	}
	_, sha1 := request(t, []byte("a"), crypto.SHA1, randomNonce(t), nil)
	post(t, srv.URL, sha1) // badAlg: a rejection, HTTP 200
	resp, err := testHTTP.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if got := testutil.ToFloat64(m.issued); got != 3 {
		t.Errorf("issued = %v, want 3", got)
	}
	for reason, want := range map[string]float64{"badAlg": 1, "content-type": 1, "badRequest": 0} {
		if got := testutil.ToFloat64(m.refused.WithLabelValues(reason)); got != want {
			t.Errorf("refused{%s} = %v, want %v", reason, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("latency histogram: %d series", n)
	}
	if got, err := testutil.GatherAndCount(reg, "cachet_tsa_request_duration_seconds"); err != nil || got != 1 {
		t.Errorf("gathered latency: %d, %v", got, err)
	}

	status := func(path string) int {
		resp, err := testHTTP.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status("/readyz") != 200 || status("/healthz") != 200 {
		t.Fatal("not ready or not live while serving")
	}
	ready.Store(false)
	if status("/readyz") != http.StatusServiceUnavailable || status("/healthz") != 200 {
		t.Fatal("draining: /readyz must say 503 and /healthz stay 200")
	}
}
