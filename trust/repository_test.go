package trust

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepositoryRefreshOptions(t *testing.T) {
	rootFile := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(rootFile, []byte(`{"signed":{"_type":"root"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name     string
		r        Repository
		vars     map[string]string
		url      string
		root     bool // o.Root read from rootFile
		named    bool
		err      error
		fileErr  bool // a *RootFileError
		rootWant []byte
	}{
		{name: "zero value: public-good", url: ""},
		{name: "the environment is a default, not named", vars: map[string]string{URLEnv: "https://env", RootEnv: rootFile},
			url: "https://env", root: true},
		{name: "a flag wins over the environment", r: Repository{URL: "https://flag"}, vars: map[string]string{URLEnv: "https://env"},
			url: "https://flag", named: true},
		{name: "a named root", r: Repository{URL: "https://flag", RootPath: rootFile}, url: "https://flag", root: true, named: true},
		{name: "a root without its URL", r: Repository{RootPath: rootFile}, err: ErrRootWithoutURL},
		{name: "an environment root without a URL", vars: map[string]string{RootEnv: rootFile}, err: ErrRootWithoutURL},
		{name: "an unreadable root", r: Repository{URL: "https://flag", RootPath: filepath.Join(t.TempDir(), "missing.json")}, fileErr: true},
		{name: "staging, ahead of the environment", r: Repository{Staging: true}, vars: map[string]string{URLEnv: "https://env"},
			url: StagingRepository, named: true, rootWant: StagingRoot()},
		{name: "staging and a URL", r: Repository{Staging: true, URL: "https://x"}, err: ErrStagingAndRepository},
		{name: "staging and a root", r: Repository{Staging: true, RootPath: rootFile}, err: ErrStagingAndRepository},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, named, err := tc.r.RefreshOptions(env(tc.vars))
			var rfe *RootFileError
			switch {
			case tc.err != nil || tc.fileErr:
				if tc.err != nil && !errors.Is(err, tc.err) || tc.fileErr && !errors.As(err, &rfe) {
					t.Fatalf("err %v, want %v (file error %v)", err, tc.err, tc.fileErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			want := tc.rootWant
			if tc.root {
				want, _ = os.ReadFile(rootFile)
			}
			if o.RepositoryURL != tc.url || !bytes.Equal(o.Root, want) || named != tc.named {
				t.Errorf("= %q, %d root bytes, named %v; want %q, %d, %v", o.RepositoryURL, len(o.Root), named, tc.url, len(want), tc.named)
			}
			if o.HTTPClient == nil || o.HTTPClient.Timeout == 0 {
				t.Error("no HTTP client with a timeout")
			}
		})
	}
}

func TestRepositoryNames(t *testing.T) {
	getenv := func(k string) string { return map[string]string{URLEnv: "https://env", RootEnv: "env-root.json"}[k] }
	url, root, err := Repository{RootPath: "flag-root.json"}.Names(getenv)
	if err != nil || url != "https://env" || root != "flag-root.json" {
		t.Errorf("Names = %q, %q, %v; want the environment's URL and the named root", url, root, err)
	}
	if _, _, err := (Repository{}).Names(func(k string) string {
		if k == RootEnv {
			return "env-root.json"
		}
		return ""
	}); !errors.Is(err, ErrRootWithoutURL) {
		t.Errorf("a root without a URL: %v", err)
	}
}

// TestRepositoryRefresh: a refresh asks the repository named, with the root file named
// (never the environment's); a root without its URL and an unreadable root are
// refused before any request.
func TestRepositoryRefresh(t *testing.T) {
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.json")
	if err := os.WriteFile(rootFile, []byte(`{"signed":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		r        Repository
		wantURL  string // the first request's prefix; "" for none
		rootFile bool
		err      error
	}{
		{name: "public-good by default", r: Repository{}, wantURL: PublicGoodRepository + "/"},
		{name: "a named mirror", r: Repository{URL: "https://tuf.example.com"}, wantURL: "https://tuf.example.com/"},
		{name: "root without URL", r: Repository{RootPath: rootFile}, err: ErrRootWithoutURL},
		{name: "unreadable root", r: Repository{URL: "https://tuf.example.com", RootPath: filepath.Join(dir, "missing")}, rootFile: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			_, err := tc.r.Refresh(t.TempDir(), &http.Client{Transport: rec})
			var rfe *RootFileError
			switch {
			case err == nil:
				t.Fatal("refresh against a 404 succeeded")
			case tc.err != nil && !errors.Is(err, tc.err), tc.rootFile && !errors.As(err, &rfe):
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.wantURL == "" && len(rec.urls) > 0 || tc.wantURL != "" && (len(rec.urls) == 0 || !strings.HasPrefix(rec.urls[0], tc.wantURL)) {
				t.Fatalf("requested %v, want %q first", rec.urls, tc.wantURL)
			}
		})
	}
}
