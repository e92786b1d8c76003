package tlog

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetrier(t *testing.T) {
	tests := []struct {
		name       string
		answers    []func(w http.ResponseWriter) // one per attempt; the last repeats
		retries    int
		wantStatus int
		wantErr    error
		wantCalls  int
		wantWaits  []time.Duration // exact, with Rand fixed at 0.5
	}{
		{name: "500 then 201", retries: 3, wantStatus: 201, wantCalls: 2,
			answers:   []func(http.ResponseWriter){status(500, ""), status(201, "")},
			wantWaits: []time.Duration{75 * time.Millisecond}},
		{name: "429 honours Retry-After", retries: 3, wantStatus: 201, wantCalls: 2,
			answers:   []func(http.ResponseWriter){status(429, "2"), status(201, "")},
			wantWaits: []time.Duration{2*time.Second + 50*time.Millisecond}},
		{name: "Retry-After beyond the bound fails", retries: 3, wantErr: ErrRetryAfterTooLong, wantCalls: 1,
			answers: []func(http.ResponseWriter){status(503, "3600")}},
		{name: "400 is not retried", retries: 3, wantStatus: 400, wantCalls: 1,
			answers: []func(http.ResponseWriter){status(400, "")}},
		{name: "501 is not retried", retries: 3, wantStatus: 501, wantCalls: 1,
			answers: []func(http.ResponseWriter){status(501, "")}},
		{name: "bounded: last answer returned", retries: 2, wantStatus: 502, wantCalls: 3,
			answers:   []func(http.ResponseWriter){status(502, "")},
			wantWaits: []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}},
		{name: "dropped connection then 201", retries: 3, wantStatus: 201, wantCalls: 2,
			answers:   []func(http.ResponseWriter){drop, status(201, "")},
			wantWaits: []time.Duration{75 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if b, _ := io.ReadAll(r.Body); string(b) != "entry" {
					t.Errorf("attempt %d: body %q, want the original", n, b)
				}
				tc.answers[min(n, len(tc.answers)-1)](w)
			}))
			defer srv.Close()
			var waits []time.Duration
			rt := &Retrier{Retries: tc.retries, Min: 100 * time.Millisecond, Max: time.Second, MaxRetryAfter: 10 * time.Second,
				Rand: func() float64 { return 0.5 },
				Sleep: func(_ context.Context, d time.Duration) error {
					waits = append(waits, d)
					return nil
				}}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("entry"))
			resp, err := rt.RoundTrip(req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
			}
			if int(calls.Load()) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
			if len(waits) != len(tc.wantWaits) {
				t.Fatalf("waits %v, want %v", waits, tc.wantWaits)
			}
			for i := range waits {
				if waits[i] != tc.wantWaits[i] {
					t.Fatalf("waits %v, want %v", waits, tc.wantWaits)
				}
			}
		})
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	r := &Retrier{Min: 100 * time.Millisecond, Max: 800 * time.Millisecond}
	for attempt := range 8 {
		d := min(800*time.Millisecond, 100*time.Millisecond<<attempt)
		for range 200 {
			if w := r.backoff(attempt); w < d/2 || w > d {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, w, d/2, d)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"7", 7 * time.Second, true}, {"-1", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func status(code int, retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func drop(w http.ResponseWriter) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		c.Close()
	}
}
