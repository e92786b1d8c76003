package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRatesSeedAndBound(t *testing.T) {
	var upstream atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstream.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	run := func(cfg Config, n int) (Stats, map[string]int) {
		p, err := Start(srv.URL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		seen := map[string]int{}
		for range n {
			resp, err := hc.Get(p.URL + "/x")
			if err != nil {
				seen["error"]++
				continue
			}
			resp.Body.Close()
			seen[resp.Status]++
		}
		return p.Stats(), seen
	}
	cfg := Config{Seed: 7, Drop: 0.1, DropAfter: 0.1, TooMany: 0.1, ServerError: 0.1, Delay: 0.1, DelayMax: time.Millisecond}
	s1, seen1 := run(cfg, 400)
	s2, _ := run(cfg, 400)
	if s1.Faults() != s2.Faults() || s1.Drops != s2.Drops || s1.TooMany != s2.TooMany {
		t.Fatalf("same seed, different faults: %+v vs %+v", s1, s2)
	}
	for name, n := range map[string]int{"drops": s1.Drops, "drops after": s1.DropsAfter, "429": s1.TooMany, "500": s1.ServerErrors, "delays": s1.Delays} {
		if n < 20 || n > 65 {
			t.Errorf("%s: %d of 400, want about 40", name, n)
		}
	}
	if seen1["error"] != s1.Drops+s1.DropsAfter || seen1["429 Too Many Requests"] != s1.TooMany {
		t.Errorf("client saw %v, proxy counted %+v", seen1, s1)
	}
	// Bounded: after MaxFaults, everything passes.
	cfg.MaxFaults = 5
	s3, seen3 := run(cfg, 100)
	if s3.Faults() != 5 || seen3["200 OK"] < 95-s3.Delays {
		t.Fatalf("bounded run: %+v, client saw %v", s3, seen3)
	}
}

func TestAlways(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	defer srv.Close()
	p, err := Start(srv.URL, Config{Always: func(_ *http.Request, body []byte) bool { return strings.Contains(string(body), "poison") }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for body, want := range map[string]int{"poison pill": 503, "fine": 200} {
		resp, err := testHTTP.Post(p.URL, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && string(got) != body) {
			t.Fatalf("%q: %d %q", body, resp.StatusCode, got)
		}
	}
}

// testHTTP is the tests' client: never one without a timeout.
var testHTTP = &http.Client{Timeout: 30 * time.Second}
