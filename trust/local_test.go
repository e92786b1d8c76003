package trust

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/trust/publicgood"
)

func TestDefaultDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"override", map[string]string{DirEnv: "/srv/trust", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/srv/trust"},
		{"xdg", map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/cachet/trust"},
		// The XDG spec says a relative value is invalid and must be ignored.
		{"relative xdg", map[string]string{"XDG_CACHE_HOME": "rel", "HOME": "/h"}, "/h/.cache/cachet/trust"},
		{"home", map[string]string{"HOME": "/h"}, "/h/.cache/cachet/trust"},
		{"nothing", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultDir(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Fatalf("DefaultDir = %q, want %q", got, tc.want)
			}
		})
	}
}

// cacheWith writes a trusted root (the vectors') into a fresh cache written age ago.
func cacheWith(t *testing.T, now time.Time, age time.Duration) string {
	t.Helper()
	dir := t.TempDir()
	m, err := ReadFile(vectorRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(m, dir); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(filepath.Join(dir, TrustedRootFile), when, when); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestResolve: each branch of the trusted-root resolution, and what it tells the user.
func TestResolve(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fresh := cacheWith(t, now, 2*time.Hour)
	stale := cacheWith(t, now, 10*24*time.Hour+time.Hour)
	scOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(scOnly, SigningConfigFile), stackConfig, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, TrustedRootFile), []byte(`{"mediaType": "applica`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		o             ResolveOptions
		origin        Origin
		err           string
		notice, warns string
	}{
		{name: "file wins over the cache", o: ResolveOptions{File: vectorRoot, Dir: fresh, Embedded: true}, origin: FromFile},
		{name: "file that is a signing config", o: ResolveOptions{File: filepath.Join(scOnly, SigningConfigFile)}, err: "holds a signing config, not a trusted root"},
		{name: "missing file", o: ResolveOptions{File: filepath.Join(scOnly, "nope.json"), Embedded: true}, err: "no such file"},
		{name: "fresh cache", o: ResolveOptions{Dir: fresh, Embedded: true}, origin: FromCache,
			notice: "trusted root: " + filepath.Join(fresh, TrustedRootFile) + " (trust cache, written 2 hours ago)"},
		{name: "stale cache", o: ResolveOptions{Dir: stale}, origin: FromCache,
			notice: "written 10 days ago", warns: "trusted root cache " + stale + " is 10 days old; run `cachet trust refresh`"},
		{name: "stale by a shorter rule", o: ResolveOptions{Dir: fresh, StaleAfter: time.Hour}, origin: FromCache,
			warns: "is 2 hours old"},
		{name: "broken cache is an error", o: ResolveOptions{Dir: broken, Embedded: true}, err: "trust cache: " + filepath.Join(broken, TrustedRootFile)},
		{name: "cache without a trusted root: embedded", o: ResolveOptions{Dir: scOnly, Embedded: true}, origin: FromEmbedded,
			notice: "trusted root: embedded public-good snapshot (github.com/sigstore/sigstore@" + publicgood.Version},
		{name: "no cache dir: embedded", o: ResolveOptions{Embedded: true}, origin: FromEmbedded, notice: "newest key 2023-04-14"},
		{name: "no cache, embedded not allowed", o: ResolveOptions{Dir: filepath.Join(scOnly, "absent")}, err: ErrNoTrustedRoot.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Now = clock
			r, err := Resolve(tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Origin != tc.origin || r.TrustedRoot == nil {
				t.Fatalf("origin %s (root %v), want %s", r.Origin, r.TrustedRoot != nil, tc.origin)
			}
			notice, warning := r.Notice()
			if !strings.Contains(notice, tc.notice) || (tc.notice == "" && tc.origin == FromFile && notice != "") {
				t.Fatalf("notice %q, want %q", notice, tc.notice)
			}
			if (tc.warns == "") != (warning == "") || !strings.Contains(warning, tc.warns) {
				t.Fatalf("warning %q, want %q", warning, tc.warns)
			}
		})
	}
	if _, err := Resolve(ResolveOptions{}); !errors.Is(err, ErrNoTrustedRoot) {
		t.Fatalf("zero options: %v, want ErrNoTrustedRoot", err)
	}
}

// recorder answers every request 404 and remembers the URLs.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Body: http.NoBody, Request: req, Header: http.Header{}}, nil
}

// TestRefreshDefaultsToPublicGood: without a URL and a root, Refresh asks the
// public-good repository (trusting sigstore-go's embedded TUF root), and writes its
// metadata into the cache; a TUF root without a URL is refused.
func TestRefreshDefaultsToPublicGood(t *testing.T) {
	rec := &recorder{}
	cache := t.TempDir()
	_, err := Refresh(RefreshOptions{CacheDir: cache, HTTPClient: &http.Client{Transport: rec}})
	if err == nil {
		t.Fatal("refresh against a 404 succeeded")
	}
	if len(rec.urls) == 0 || !strings.HasPrefix(rec.urls[0], PublicGoodRepository+"/") {
		t.Fatalf("requested %v, want %s first", rec.urls, PublicGoodRepository)
	}
	// go-tuf starts from the trusted root: it asked for the next version of the embedded one.
	if !strings.HasSuffix(rec.urls[0], ".root.json") {
		t.Fatalf("first request %s, want N.root.json", rec.urls[0])
	}
	if _, err := os.Stat(filepath.Join(cache, TrustedRootFile)); err == nil {
		t.Fatal("a failed refresh wrote a trusted root")
	}
	if _, err := Refresh(RefreshOptions{CacheDir: cache, Root: []byte("{}")}); err == nil || !strings.Contains(err.Error(), "needs the URL") {
		t.Fatalf("root without a URL: %v", err)
	}
}
