package release

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/sign"
)

const token = "ghs_test"

func fake(t *testing.T) (*fakegithubapi.Server, *gh.Client) {
	t.Helper()
	api, err := fakegithubapi.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	c, err := gh.New(gh.Options{Owner: "o", Name: "r", APIURL: api.URL + "/api/v3", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return api, c
}

// fakeSigner "signs" by writing "signed:CONTENT" as the bundle; failName fails.
func fakeSigner(t *testing.T, failName string) func(context.Context, []sign.Subject) *sign.Report {
	return func(_ context.Context, subjects []sign.Subject) *sign.Report {
		var outs []sign.Outcome
		for _, s := range subjects {
			o := sign.Outcome{Result: sign.Result{Subject: s}}
			data, err := os.ReadFile(s.Path)
			switch {
			case err != nil:
				o.Err = err
			case s.Name == failName:
				o.Err = errors.New("rekor: 503")
			default:
				o.Err = os.WriteFile(s.Bundle, append([]byte("signed:"), data...), 0o600)
			}
			outs = append(outs, o)
		}
		return sign.NewReport(outs, nil)
	}
}

// keep accepts a bundle "signed:" + the asset's content.
func keep(path string, _ []byte) error {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("signed:")) {
		return errors.New("not a bundle of this asset")
	}
	return nil
}

func TestSign(t *testing.T) {
	for _, tc := range []struct {
		name     string
		assets   map[string]string // asset name -> content (bundles too)
		replace  bool
		failName string
		// want
		uploaded, replaced, kept int
		failed                   []string // substrings, one per failure
		bundles                  map[string]string
	}{
		{name: "new assets", assets: map[string]string{"a.tar.gz": "A", "b.zip": "B"},
			uploaded: 2, bundles: map[string]string{"a.tar.gz.sigstore.json": "signed:A", "b.zip.sigstore.json": "signed:B"}},
		{name: "a valid bundle is kept", assets: map[string]string{"a.tar.gz": "A", "a.tar.gz.sigstore.json": "signed:A", "b": "B"},
			uploaded: 1, kept: 1, bundles: map[string]string{"a.tar.gz.sigstore.json": "signed:A", "b.sigstore.json": "signed:B"}},
		{name: "an invalid bundle fails with the hint", assets: map[string]string{"a": "A", "a.sigstore.json": "junk"},
			failed:  []string{"a: the release's a.sigstore.json does not verify for this identity and the asset (not a bundle of this asset); HINT"},
			bundles: map[string]string{"a.sigstore.json": "junk"}},
		{name: "replace signs again", assets: map[string]string{"a": "A", "a.sigstore.json": "junk", "b": "B", "b.sigstore.json": "signed:B"}, replace: true,
			replaced: 2, bundles: map[string]string{"a.sigstore.json": "signed:A", "b.sigstore.json": "signed:B"}},
		{name: "a failure leaves the others signed", assets: map[string]string{"a": "A", "b": "B"}, failName: "b",
			uploaded: 1, failed: []string{"b: rekor: 503"}, bundles: map[string]string{"a.sigstore.json": "signed:A"}},
		{name: "a name with a line break is not signed", assets: map[string]string{"a\n::warning::x": "A", "b": "B"},
			uploaded: 1, failed: []string{`"a\n::warning::x": the asset's name holds a control character`}, bundles: map[string]string{"b.sigstore.json": "signed:B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, c := fake(t)
			id := api.AddRelease("o/r", "v1")
			for n, d := range tc.assets {
				api.AddAsset(id, n, []byte(d))
			}
			rel, err := Open(t.Context(), c, "v1")
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			res, err := rel.Sign(t.Context(), c, Options{Replace: tc.replace, Parallel: 2, Keep: keep, Sign: fakeSigner(t, tc.failName), ReplaceHint: "HINT", Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			if res.Uploaded != tc.uploaded || res.Replaced != tc.replaced || res.Kept != tc.kept || len(res.Failed) != len(tc.failed) {
				t.Fatalf("result %+v, want %d uploaded, %d replaced, %d kept, %d failed\n%s", res, tc.uploaded, tc.replaced, tc.kept, len(tc.failed), log.String())
			}
			sort.Strings(res.Failed)
			for i, w := range tc.failed {
				if !strings.Contains(res.Failed[i], w) {
					t.Errorf("failure %q lacks %q", res.Failed[i], w)
				}
			}
			if (res.Err() == nil) != (len(tc.failed) == 0) {
				t.Errorf("Err() = %v", res.Err())
			}
			got := map[string]string{}
			for n, a := range api.Assets(id) {
				if strings.HasSuffix(n, BundleSuffix) {
					got[n] = string(a.Data)
				}
			}
			if len(got) != len(tc.bundles) {
				t.Errorf("bundles on the release %v, want %v", got, tc.bundles)
			}
			for n, w := range tc.bundles {
				if got[n] != w {
					t.Errorf("%s = %q, want %q", n, got[n], w)
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	api, c := fake(t)
	if _, err := Open(t.Context(), c, "v9"); !errors.Is(err, gh.ErrReleaseNotFound) {
		t.Errorf("no release: %v", err)
	}
	id := api.AddRelease("o/r", "v1")
	api.AddAsset(id, "a.sigstore.json", []byte("x"))
	if _, err := Open(t.Context(), c, "v1"); !errors.Is(err, ErrNoAssets) {
		t.Errorf("only bundles: %v", err)
	}
	api.AddAsset(id, "a", []byte("A"))
	rel, err := Open(t.Context(), c, "v1")
	if err != nil || len(rel.Assets) != 1 || rel.Assets[0].Name != "a" || len(rel.Bundles) != 1 {
		t.Fatalf("Open = %+v, %v", rel, err)
	}
}

func TestAssets(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) string {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, sub := write("a.tar.gz"), write("b.zip"), write("sub/a.tar.gz")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	ctl := write("bad\nname")
	for _, tc := range []struct {
		name  string
		files []string
		file  string // a *FileError for this file
		same  bool
	}{
		{name: "ok", files: []string{a, b}},
		{name: "missing", files: []string{a, filepath.Join(dir, "nope")}, file: filepath.Join(dir, "nope")},
		{name: "a directory", files: []string{dir}, file: dir},
		{name: "a symbolic link", files: []string{link}, file: link},
		{name: "control character", files: []string{ctl}, file: `"` + dir + `/bad\nname"`},
		{name: "one base name twice", files: []string{a, sub}, same: true},
	} {
		m, err := Assets(tc.files)
		var fe *FileError
		switch {
		case tc.file != "" && (!errors.As(err, &fe) || fe.File != tc.file):
			t.Errorf("%s: err %v, want a FileError for %s", tc.name, err, tc.file)
		case tc.same && !errors.Is(err, ErrSameAsset):
			t.Errorf("%s: err %v, want ErrSameAsset", tc.name, err)
		case tc.file == "" && !tc.same && (err != nil || m["a.tar.gz"] != a || m["b.zip"] != b):
			t.Errorf("%s: %v, %v", tc.name, m, err)
		}
	}
}
