package trust

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/testnet"
	"github.com/cachet-sign/cachet/internal/trust/tuftest"
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

// cacheWith imports a trusted root (the vectors') into a fresh cache, age ago.
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
	if err := MarkImported(dir, vectorRoot, now); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(filepath.Join(dir, importMarker), when, when); err != nil {
		t.Fatal(err)
	}
	return dir
}

// verifiedThenDown fills a cache from a TUF repository serving the vectors' trusted
// root, then stops the repository; it returns the cache and the options naming it.
func verifiedThenDown(t *testing.T) (string, RefreshOptions) {
	t.Helper()
	repo, err := tuftest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.ReadFile(vectorRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget(TrustedRootFile, tr); err != nil {
		t.Fatal(err)
	}
	repo.Timestamp.Signed.Expires = time.Now().Add(time.Second)
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
	anchor, _ := repo.RootJSON()
	o := RefreshOptions{RepositoryURL: srv.URL, Root: anchor, CacheDir: t.TempDir()}
	if _, err := Refresh(o); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	// The wait is the thing tested: the cached timestamp must really expire, and go-tuf
	// (through sigstore-go's tuf.Client, which takes no clock) checks the wall clock.
	time.Sleep(1100 * time.Millisecond)
	return o.CacheDir, o
}

// TestResolve: each branch of the trusted-root resolution, and what it tells the user.
// TUF repositories here are unreachable (a closed port); TestRefresh covers the rest.
func TestResolve(t *testing.T) {
	now := time.Now()
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
	if err := MarkImported(broken, "x", now); err != nil {
		t.Fatal(err)
	}
	closed := testnet.RefusingURL(t)
	mirror := RefreshOptions{RepositoryURL: closed} // public-good trust, unreachable
	lastDir, last := verifiedThenDown(t)
	private := RefreshOptions{RepositoryURL: closed, Root: last.Root} // another instance
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
		{name: "imported cache", o: ResolveOptions{Dir: fresh, TUF: mirror}, origin: FromImport,
			notice: "trusted root: " + filepath.Join(fresh, TrustedRootFile) + " (trust cache, imported 2 hours ago)"},
		{name: "stale import", o: ResolveOptions{Dir: stale, TUF: mirror}, origin: FromImport,
			notice: "imported 10 days ago", warns: "trusted root cache " + stale + " was imported 10 days ago"},
		{name: "stale import, signing: refused", o: ResolveOptions{Dir: stale, TUF: mirror, RefuseStale: true},
			err: "the trust cache " + stale + " is stale (imported "},
		{name: "stale by a shorter rule", o: ResolveOptions{Dir: fresh, TUF: mirror, StaleAfter: time.Hour}, origin: FromImport,
			warns: "imported 2 hours ago"},
		{name: "a named repository wins over an import", o: ResolveOptions{Dir: fresh, TUF: mirror, TUFNamed: true},
			err: "tuf " + closed + ": TUF repository unreachable"},
		{name: "broken import is an error", o: ResolveOptions{Dir: broken, Embedded: true, TUF: mirror}, err: "trust cache: " + filepath.Join(broken, TrustedRootFile)},
		{name: "unreachable, nothing cached: embedded", o: ResolveOptions{Dir: scOnly, Embedded: true, TUF: mirror}, origin: FromEmbedded,
			notice: "trusted root: embedded public-good snapshot (github.com/sigstore/sigstore@" + publicgood.Version,
			warns:  "tuf " + closed + ": TUF repository unreachable"},
		{name: "unreachable private instance: no embedded", o: ResolveOptions{Dir: t.TempDir(), Embedded: true, TUF: private},
			err: "TUF repository unreachable"},
		{name: "unreachable, signing: refused", o: ResolveOptions{Dir: t.TempDir(), TUF: mirror}, err: "TUF repository unreachable"},
		{name: "unreachable, last verified: stale TUF", o: ResolveOptions{Dir: lastDir, Embedded: true, TUF: last, TUFNamed: true}, origin: FromTUF,
			notice: "trusted root: TUF repository " + last.RepositoryURL + ", as last refreshed into " + lastDir,
			warns:  "verifying with the trusted root it last served, whose TUF metadata expired"},
		{name: "unreachable, last verified, signing: refused", o: ResolveOptions{Dir: lastDir, TUF: last}, err: "TUF repository unreachable"},
		{name: "no cache dir", o: ResolveOptions{Embedded: true}, err: ErrNoCacheDir.Error()},
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
			notice, warning := r.Notice("")
			if !strings.Contains(notice, tc.notice) || (tc.notice == "" && tc.origin == FromFile && notice != "") {
				t.Fatalf("notice %q, want %q", notice, tc.notice)
			}
			if (tc.warns == "") != (warning == "") || !strings.Contains(warning, tc.warns) {
				t.Fatalf("warning %q, want %q", warning, tc.warns)
			}
		})
	}
	if _, err := Resolve(ResolveOptions{}); !errors.Is(err, ErrNoCacheDir) {
		t.Fatalf("zero options: %v, want ErrNoCacheDir", err)
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

// TestImportFile: an imported file is in the cache and used as an import from then on;
// a file that is no trust file, or a cache that cannot be written, imports nothing.
func TestImportFile(t *testing.T) {
	now := time.Now()
	dir := filepath.Join(t.TempDir(), "trust")
	paths, err := ImportFile(vectorRoot, dir, now)
	if err != nil || len(paths) != 1 || paths[0] != filepath.Join(dir, TrustedRootFile) {
		t.Fatalf("paths %q, err %v", paths, err)
	}
	r, err := Resolve(ResolveOptions{Dir: dir, Now: func() time.Time { return now }})
	if err != nil || r.Origin != FromImport || r.Stale {
		t.Fatalf("resolved %+v, err %v", r, err)
	}
	notTrust := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(notTrust, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, dir, want string }{
		{notTrust, t.TempDir(), notTrust},
		{vectorRoot, filepath.Join(file, "trust"), "import into " + filepath.Join(file, "trust")},
	} {
		if _, err := ImportFile(tc.path, tc.dir, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ImportFile(%s, %s): err %v, want %q", tc.path, tc.dir, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(tc.dir, importMarker)); err == nil {
			t.Errorf("%s marked imported", tc.dir)
		}
	}
}
