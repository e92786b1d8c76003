package httpretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// now is the tests' clock: every wait below is exact, with Rand fixed at 0.5.
var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type answer struct {
	code   int
	header map[string]string
	body   string
	drop   bool // hang up without an answer
}

func (a answer) write(w http.ResponseWriter) {
	if a.drop {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.code)
	io.WriteString(w, a.body)
}

func ok() answer { return answer{code: 200, body: "done"} }

func status(code int, kv ...string) answer {
	a := answer{code: code, header: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		a.header[kv[i]] = kv[i+1]
	}
	return a
}

// TestTransport is every retry behaviour of every caller: the transport is the one
// place it lives. Backoff waits are MinBackoff 100 ms doubling to 1 s, equal jitter
// at Rand 0.5 (75 ms, 150 ms, 300 ms, ...); waits a server names get 125 ms of jitter.
func TestTransport(t *testing.T) {
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name    string
		tr      Transport                      // Next, Sleep, Now and Rand are set below
		request func(url string) *http.Request // a GET when nil
		answers []answer                       // one per attempt; the last repeats
		cancel  bool                           // cancel the context during the first wait
		want    int                            // the status returned
		wantErr func(error) bool               // instead of a status
		calls   int                            // requests the server saw
		waits   []time.Duration                // the waits, in order
		logged  []string                       // what Log was told
	}{
		{name: "5xx then success", want: 200, calls: 3,
			answers: []answer{status(503), status(500), ok()},
			waits:   []time.Duration{75 * time.Millisecond, 150 * time.Millisecond},
			logged:  []string{"server error 503", "server error 500"}},
		{name: "501 is final", want: 501, calls: 1, answers: []answer{status(501)}},
		{name: "dropped connection then success", want: 200, calls: 2,
			answers: []answer{{drop: true}, ok()}, waits: []time.Duration{75 * time.Millisecond}, logged: []string{"network error"}},
		{name: "429 with Retry-After seconds", want: 200, calls: 2,
			answers: []answer{status(429, "Retry-After", "2"), ok()},
			waits:   []time.Duration{2*time.Second + 125*time.Millisecond}, logged: []string{"rate limited (429)"}},
		{name: "503 with Retry-After date", want: 200, calls: 2,
			answers: []answer{status(503, "Retry-After", now.Add(7*time.Second).Format(http.TimeFormat)), ok()},
			waits:   []time.Duration{7*time.Second + 125*time.Millisecond}},
		{name: "Retry-After shorter than the backoff: the backoff", want: 200, calls: 2,
			answers: []answer{status(503, "Retry-After", "0"), ok()}, waits: []time.Duration{75 * time.Millisecond}},
		{name: "Retry-After beyond MaxWait fails at once", calls: 1,
			tr:      Transport{MaxWait: 10 * time.Second, MaxWaitName: "--wait"},
			answers: []answer{status(503, "Retry-After", "3600")},
			wantErr: func(err error) bool {
				var we *WaitError
				return errors.As(err, &we) && errors.Is(err, ErrWaitTooLong) && we.Status == 503 &&
					err.Error() == "server error 503 for 1h0m0s, longer than --wait 10s"
			}},
		{name: "GitHub primary rate limit waits for the reset", want: 200, calls: 2,
			tr:      Transport{GitHub: true, MaxWait: time.Minute},
			answers: []answer{status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch(20*time.Second)), ok()},
			waits:   []time.Duration{21*time.Second + 125*time.Millisecond}, logged: []string{"primary rate limit"}},
		{name: "GitHub primary rate limit beyond MaxWait", calls: 1,
			tr:      Transport{GitHub: true, MaxWait: 5 * time.Second, MaxWaitName: "--rate-limit-wait"},
			answers: []answer{status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch(time.Hour))},
			wantErr: func(err error) bool {
				return errors.Is(err, ErrWaitTooLong) && strings.Contains(err.Error(), "primary rate limit for 1h0m1s, longer than --rate-limit-wait 5s")
			}},
		{name: "GitHub secondary rate limit, 429 with Retry-After", want: 200, calls: 2,
			tr:      Transport{GitHub: true},
			answers: []answer{status(429, "Retry-After", "3", "X-RateLimit-Remaining", "0"), ok()},
			waits:   []time.Duration{3*time.Second + 125*time.Millisecond}, logged: []string{"rate limited (429)"}},
		{name: "GitHub secondary rate limit, 403 told by its body: a minute", want: 200, calls: 2,
			tr: Transport{GitHub: true, MaxWait: 2 * time.Minute},
			answers: []answer{{code: 403, body: `{"message":"You have exceeded a secondary rate limit.",` +
				`"documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}, ok()},
			waits: []time.Duration{time.Minute + 125*time.Millisecond}, logged: []string{"secondary rate limit"}},
		{name: "GitHub 403 that is no rate limit is final, body intact", want: 403, calls: 1,
			tr:      Transport{GitHub: true},
			answers: []answer{{code: 403, body: `{"message":"Resource not accessible by integration"}`}}},
		{name: "403 is final without GitHub", want: 403, calls: 1,
			answers: []answer{status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch(time.Second))}},
		{name: "non-retryable 4xx returned at once", want: 404, calls: 1, answers: []answer{status(404)}},
		{name: "POST not retried by default", want: 503, calls: 1,
			request: post(true), answers: []answer{status(503)}},
		{name: "POST retried when Retryable, body replayed", want: 200, calls: 2,
			tr: Transport{Retryable: AnyMethod}, request: post(true), answers: []answer{status(503), ok()},
			waits: []time.Duration{75 * time.Millisecond}},
		{name: "POST without GetBody not retried", want: 503, calls: 1,
			tr: Transport{Retryable: AnyMethod}, request: post(false), answers: []answer{status(503)}},
		{name: "POST without GetBody buffered when allowed", want: 200, calls: 2,
			tr: Transport{Retryable: AnyMethod, MaxBufferedBody: 1 << 10}, request: post(false), answers: []answer{status(502), ok()},
			waits: []time.Duration{75 * time.Millisecond}},
		{name: "context cancelled during a wait", calls: 1, cancel: true,
			answers: []answer{status(503, "Retry-After", "5")},
			waits:   []time.Duration{5*time.Second + 125*time.Millisecond},
			wantErr: func(err error) bool { return errors.Is(err, context.Canceled) }},
		{name: "attempt cap: the last answer returned", want: 502, calls: 3,
			tr: Transport{Attempts: 3}, answers: []answer{status(502)},
			waits: []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}},
		{name: "attempt cap on transport errors", calls: 2,
			tr: Transport{Attempts: 2}, answers: []answer{{drop: true}},
			waits:   []time.Duration{75 * time.Millisecond},
			wantErr: func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "after 2 attempts: ") }},
		{name: "total-wait cap: no retry past it", want: 429, calls: 3,
			tr:      Transport{Attempts: 10, MaxTotalWait: 5 * time.Second},
			answers: []answer{status(429, "Retry-After", "2")},
			waits:   []time.Duration{2*time.Second + 125*time.Millisecond, 2*time.Second + 125*time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if r.Method == http.MethodPost {
					if b, _ := io.ReadAll(r.Body); string(b) != "entry" {
						t.Errorf("attempt %d: body %q, want the original", n, b)
					}
				}
				tc.answers[min(n, len(tc.answers)-1)].write(w)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var waits []time.Duration
			var logged []string
			tr := tc.tr
			tr.Now = func() time.Time { return now }
			tr.Rand = func() float64 { return 0.5 }
			tr.MinBackoff, tr.MaxBackoff = 100*time.Millisecond, time.Second
			tr.Log = func(_ context.Context, why string, _ time.Duration) { logged = append(logged, why) }
			tr.Sleep = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				if tc.cancel {
					cancel()
				}
				return ctx.Err()
			}
			mk := tc.request
			if mk == nil {
				mk = func(u string) *http.Request { r, _ := http.NewRequest(http.MethodGet, u, nil); return r }
			}
			resp, err := tr.RoundTrip(mk(srv.URL).WithContext(ctx))
			switch {
			case tc.wantErr != nil:
				if !tc.wantErr(err) {
					t.Fatalf("err %v", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
				}
				if tc.want == 403 && tr.GitHub && !strings.Contains(string(b), "Resource not accessible") {
					t.Fatalf("body %q: the peek lost it", b)
				}
			}
			if int(calls.Load()) != tc.calls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.calls)
			}
			if !equal(waits, tc.waits) {
				t.Errorf("waits %v, want %v", waits, tc.waits)
			}
			if tc.logged != nil && strings.Join(logged, ",") != strings.Join(tc.logged, ",") {
				t.Errorf("logged %q, want %q", logged, tc.logged)
			}
		})
	}
}

// post makes a POST of "entry", replayable (GetBody set) or not.
func post(replayable bool) func(string) *http.Request {
	return func(u string) *http.Request {
		var body io.Reader = strings.NewReader("entry")
		if !replayable {
			body = io.MultiReader(body) // hides the type: http.NewRequest sets no GetBody
		}
		r, _ := http.NewRequest(http.MethodPost, u, body)
		return r
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBackoffBounds: equal jitter stays within [d/2, d] and d doubles to the cap.
func TestBackoffBounds(t *testing.T) {
	tr := &Transport{MinBackoff: 100 * time.Millisecond, MaxBackoff: 800 * time.Millisecond}
	for n := 1; n <= 8; n++ {
		d := min(800*time.Millisecond, 100*time.Millisecond<<(n-1))
		for range 200 {
			if w := tr.backoff(n); w < d/2 || w > d {
				t.Fatalf("retry %d: wait %s outside [%s, %s]", n, w, d/2, d)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
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

// TestAttemptTimeout: Wrap turns the client's Timeout into a bound on each attempt, so
// an answer that never comes is retried rather than waited on.
func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "late but here")
	}))
	defer srv.Close()
	hc := Wrap(&http.Client{Timeout: 100 * time.Millisecond}, &Transport{Sleep: func(context.Context, time.Duration) error { return nil }})
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "late but here" || calls.Load() != 2 {
		t.Fatalf("%q after %d calls", b, calls.Load())
	}
}

// TestRepeat: a failure only the caller sees (a body cut short) is retried under the
// same caps, and a final one is not.
func TestRepeat(t *testing.T) {
	var waits []time.Duration
	tr := &Transport{Attempts: 3, Rand: func() float64 { return 0.5 }, MinBackoff: 100 * time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	n := 0
	err := tr.Repeat(t.Context(), "download interrupted", func() (bool, error) { n++; return true, io.ErrUnexpectedEOF })
	if !errors.Is(err, io.ErrUnexpectedEOF) || n != 3 || len(waits) != 2 || !strings.HasPrefix(err.Error(), "after 3 attempts") {
		t.Fatalf("err %v after %d tries, waits %v", err, n, waits)
	}
	n = 0
	err = tr.Repeat(t.Context(), "x", func() (bool, error) { n++; return false, errors.New("disk full") })
	if err == nil || n != 1 {
		t.Fatalf("a final error was retried: %v after %d", err, n)
	}
}

// TestReadBody: ReadBody reads what io.ReadAll of a LimitReader reads, whatever the
// announced length says (none, the truth, too little, too much, over the limit), and
// in one buffer when the announcement is true and within the limit.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("answer ", 300)
	for _, c := range []struct {
		name     string
		announce int64
		limit    int64
	}{
		{"unannounced", -1, 1 << 20}, {"announced", int64(len(body)), 1 << 20},
		{"announced short", 10, 1 << 20}, {"announced long", int64(len(body)) + 100, 1 << 20},
		{"over the limit", int64(len(body)), 100}, {"at the limit", int64(len(body)), int64(len(body))},
		{"empty", 0, 1 << 20},
	} {
		src := body
		if c.name == "empty" {
			src = ""
		}
		r := &http.Response{Body: io.NopCloser(strings.NewReader(src)), ContentLength: c.announce}
		got, err := ReadBody(r, c.limit)
		want, _ := io.ReadAll(io.LimitReader(strings.NewReader(src), c.limit))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", c.name, len(got), err, len(want))
		}
		if c.name == "announced" && cap(got) != len(body)+1 {
			t.Errorf("announced: buffer of %d for %d bytes", cap(got), len(body))
		}
	}
}
