package gh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
)

const token = "ghs_ghPackageTestToken0123456789"

// fixture is a fake GitHub and a client of it (GHES paths), whose waits are recorded
// instead of slept.
type fixture struct {
	api   *fakegithubapi.Server
	c     *Client
	log   *bytes.Buffer
	waits []time.Duration
}

func newFixture(t *testing.T, maxWait time.Duration) *fixture {
	t.Helper()
	api, err := fakegithubapi.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	f := &fixture{api: api, log: &bytes.Buffer{}}
	f.c, err = New(Options{Owner: "octo-org", Name: "octo-repo", APIURL: api.URL + "/api/v3", Token: token,
		MaxWait: maxWait, MaxWaitName: "the bound", Log: f.log,
		Sleep: func(_ context.Context, d time.Duration) error { f.waits = append(f.waits, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		api     string
		err     error
		baseURL string
	}{
		{"", nil, "https://api.github.com/"},
		{DefaultAPI + "/", nil, "https://api.github.com/"},
		{"https://ghes.example.com/api/v3", nil, "https://ghes.example.com/api/v3/"},
		{"ftp://ghes.example.com", ErrBadAPIURL, ""},
		{"not a url", ErrBadAPIURL, ""},
	} {
		c, err := New(Options{Owner: "o", Name: "r", APIURL: tc.api})
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.api, err, tc.err)
			continue
		}
		if err == nil && c.api.BaseURL.String() != tc.baseURL {
			t.Errorf("%q: base %s, want %s", tc.api, c.api.BaseURL, tc.baseURL)
		}
		if err == nil && tc.api != "" && strings.Contains(tc.api, "ghes") && c.api.UploadURL.String() != "https://ghes.example.com/api/uploads/" {
			t.Errorf("%q: uploads %s", tc.api, c.api.UploadURL)
		}
	}
	for _, s := range []string{"", "o", "o/", "/r", "o/r/x"} {
		if _, _, err := ParseRepo(s); !errors.Is(err, ErrBadRepo) {
			t.Errorf("ParseRepo(%q): %v", s, err)
		}
	}
}

// TestAssetsPaginated: every page is read, in order.
func TestAssetsPaginated(t *testing.T) {
	f := newFixture(t, time.Minute)
	f.api.MaxPerPage = 2
	id := f.api.AddRelease("octo-org/octo-repo", "v1")
	for i := range 5 {
		f.api.AddAsset(id, fmt.Sprintf("a%d", i), []byte{byte(i)})
	}
	rel, err := f.c.Release(t.Context(), "v1")
	if err != nil || rel.ID != id {
		t.Fatalf("%v %+v", err, rel)
	}
	as, err := f.c.Assets(t.Context(), rel)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "a0,a1,a2,a3,a4" {
		t.Fatalf("assets %v", names)
	}
	if n := len(f.api.Requests()); n != 4 { // the release, three pages
		t.Fatalf("%d requests", n)
	}
}

func TestReleaseNotFound(t *testing.T) {
	f := newFixture(t, time.Minute)
	_, err := f.c.Release(t.Context(), "v9")
	if !errors.Is(err, ErrReleaseNotFound) || strings.Contains(err.Error(), "--") {
		t.Fatalf("err %v: want ErrReleaseNotFound, naming no flag", err)
	}
}

// TestDownloadRedirectWithoutToken: the asset comes through the 302 to storage, which
// (like GitHub's) refuses a request that still carries the token.
func TestDownloadRedirectWithoutToken(t *testing.T) {
	f := newFixture(t, time.Minute)
	id := f.api.AddRelease("octo-org/octo-repo", "v1")
	f.api.AddAsset(id, "app.tar.gz", []byte("the asset"))
	as := f.api.Assets(id)["app.tar.gz"]
	path := filepath.Join(t.TempDir(), "app.tar.gz")
	d, err := f.c.Download(t.Context(), as.ID, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("the asset"))
	if b, _ := os.ReadFile(path); string(b) != "the asset" || !bytes.Equal(d, want[:]) {
		t.Fatalf("downloaded %q, digest %x", b, d)
	}
	reqs := f.api.Requests()
	if len(reqs) != 2 || !strings.HasPrefix(reqs[1], "GET /_storage/") {
		t.Fatalf("requests %v", reqs)
	}
	if _, err := f.c.Download(t.Context(), as.ID, path, 4); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("limit: %v", err)
	}
}

// TestDownloadWriteErrorIsFinal: a local failure is not retried; a read cut short is.
func TestDownloadWriteErrorIsFinal(t *testing.T) {
	f := newFixture(t, time.Minute)
	id := f.api.AddRelease("octo-org/octo-repo", "v1")
	f.api.AddAsset(id, "app", []byte("x"))
	_, err := f.c.Download(t.Context(), f.api.Assets(id)["app"].ID, filepath.Join(t.TempDir(), "no", "such", "dir"), 0)
	if err == nil || len(f.waits) != 0 || len(f.api.Requests()) != 2 {
		t.Fatalf("err %v, waits %v: a local error was retried", err, f.waits)
	}
	src := &readErrs{r: strings.NewReader("asset bytes")}
	if _, err := io.Copy(failWriter{}, src); err == nil || src.err != nil {
		t.Fatalf("copy err %v, read err %v: a write failure must leave the read side clean", err, src.err)
	}
	src = &readErrs{r: io.MultiReader(strings.NewReader("x"), errReader{io.ErrUnexpectedEOF})}
	if _, err := io.Copy(io.Discard, src); err == nil || src.err == nil {
		t.Fatalf("a read failure was not recorded: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestUploadAndDelete: an upload lands with its content type; a second of the same
// name is ErrAssetExists; a delete of an asset already gone is no error.
func TestUploadAndDelete(t *testing.T) {
	f := newFixture(t, time.Minute)
	id := f.api.AddRelease("octo-org/octo-repo", "v1")
	path := filepath.Join(t.TempDir(), "b.json")
	os.WriteFile(path, []byte(`{"bundle":1}`), 0o644)
	rel := &Release{ID: id, Tag: "v1"}
	a, err := f.c.Upload(t.Context(), rel, "app.sigstore.json", path, "application/json")
	if err != nil {
		t.Fatal(err)
	}
	got := f.api.Assets(id)["app.sigstore.json"]
	if string(got.Data) != `{"bundle":1}` || got.ContentType != "application/json" || a.ID != got.ID {
		t.Fatalf("uploaded %+v, answer %+v", got, a)
	}
	if _, err := f.c.Upload(t.Context(), rel, "app.sigstore.json", path, "application/json"); !errors.Is(err, ErrAssetExists) {
		t.Fatalf("second upload: %v", err)
	}
	if err := f.c.DeleteAsset(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeleteAsset(t.Context(), a); err != nil {
		t.Fatalf("delete of a deleted asset: %v", err)
	}
	if len(f.api.Assets(id)) != 0 {
		t.Fatal("not deleted")
	}
}

// TestUploadRetriedWhole: an upload that meets a rate limit is sent again, whole.
func TestUploadRetriedWhole(t *testing.T) {
	f := newFixture(t, time.Minute)
	id := f.api.AddRelease("octo-org/octo-repo", "v1")
	path := filepath.Join(t.TempDir(), "big")
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	os.WriteFile(path, data, 0o644)
	f.api.RateLimitNext(true, time.Second)
	if _, err := f.c.Upload(t.Context(), &Release{ID: id, Tag: "v1"}, "big", path, "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.api.Assets(id)["big"].Data, data) || len(f.waits) != 1 {
		t.Fatalf("upload after a rate limit: %d bytes, waits %v", len(f.api.Assets(id)["big"].Data), f.waits)
	}
}

// TestPublishAssets: the release is created for the tag, the files uploaded; a re-run
// keeps what has the same content and refuses an asset with other content.
func TestPublishAssets(t *testing.T) {
	f := newFixture(t, time.Minute)
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"app.tar.gz", "checksums.json"} {
		files[n] = filepath.Join(dir, n)
		os.WriteFile(files[n], []byte("content of "+n), 0o644)
	}
	rel, err := f.c.PublishAssets(t.Context(), "v2", files)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := f.api.Release("octo-org/octo-repo", "v2"); !ok || id != rel.ID {
		t.Fatalf("release not created: %v %d", ok, id)
	}
	as := f.api.Assets(rel.ID)
	if string(as["app.tar.gz"].Data) != "content of app.tar.gz" || as["checksums.json"].ContentType != "application/json" {
		t.Fatalf("assets %+v", as)
	}
	if want := "created release v2\nuploaded asset app.tar.gz\nuploaded asset checksums.json\n"; f.log.String() != want {
		t.Fatalf("log %q, want %q", f.log, want)
	}
	f.log.Reset()
	if _, err := f.c.PublishAssets(t.Context(), "v2", files); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log.String(), "kept asset app.tar.gz: the same content") {
		t.Fatalf("re-run: %s", f.log)
	}
	f.api.SetAssetData(rel.ID, "app.tar.gz", []byte("tampered"))
	_, err = f.c.PublishAssets(t.Context(), "v2", files)
	var ce *AssetConflictError
	if !errors.Is(err, ErrAssetConflict) || !errors.As(err, &ce) || ce.Name != "app.tar.gz" ||
		!strings.Contains(err.Error(), "release v2 already has an asset app.tar.gz with other content") {
		t.Fatalf("other content: %v", err)
	}
	if string(f.api.Assets(rel.ID)["app.tar.gz"].Data) != "tampered" {
		t.Fatal("the existing asset was replaced")
	}
}

// TestRateLimitsWaitedOut: a primary (403, x-ratelimit-remaining: 0, reset) and a
// secondary (429, Retry-After) rate limit are waited out through Sleep, saying so;
// one longer than MaxWait fails at once, naming the bound.
func TestRateLimitsWaitedOut(t *testing.T) {
	f := newFixture(t, 30*time.Second)
	f.api.AddRelease("octo-org/octo-repo", "v1")
	f.api.RateLimitNext(false, 3*time.Second)
	f.api.RateLimitNext(true, 2*time.Second)
	if _, err := f.c.Release(t.Context(), "v1"); err != nil {
		t.Fatal(err)
	}
	log := f.log.String()
	if !strings.Contains(log, "github: get release: primary rate limit; retrying in ") ||
		!strings.Contains(log, "github: get release: rate limited (429); retrying in ") {
		t.Fatalf("log:\n%s", log)
	}
	// The reset is in whole seconds, rounded up by the fake: 3-4 s away, then
	// httpretry adds a second and up to 250 ms of jitter; the wait can only shrink
	// with the time the exchange takes.
	if len(f.waits) != 2 || f.waits[0] < 3*time.Second || f.waits[0] > 5250*time.Millisecond ||
		f.waits[1] < 2*time.Second || f.waits[1] > 2250*time.Millisecond {
		t.Fatalf("waits %v: want the reset (4-5.25 s) then Retry-After (2-2.25 s)", f.waits)
	}

	f.api.RateLimitNext(false, time.Hour)
	_, err := f.c.Release(t.Context(), "v1")
	if err == nil || !strings.Contains(err.Error(), "primary rate limit for 1h0m") || !strings.Contains(err.Error(), "longer than the bound 30s") || len(f.waits) != 2 {
		t.Fatalf("an hour's rate limit: %v, waits %v", err, f.waits)
	}
}

var dsseBundle = fakegithubapi.DSSEBundle

const v03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

func TestPublishAttestation(t *testing.T) {
	f := newFixture(t, time.Minute)
	b := dsseBundle(v03, []byte("artifact"))
	id, err := f.c.PublishAttestation(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	stored := f.api.Attestations()
	if len(stored) != 1 || stored[0].ID != id || id == 0 || stored[0].Repo != "octo-org/octo-repo" {
		t.Fatalf("id %d, stored %+v", id, stored)
	}
	// Sent as written, up to JSON whitespace (encoding/json compacts a RawMessage).
	var want bytes.Buffer
	json.Compact(&want, b)
	if !bytes.Equal(stored[0].Bundle, want.Bytes()) {
		t.Fatalf("stored bundle differs:\n%s\nwant\n%s", stored[0].Bundle, want.Bytes())
	}
	if reqs := f.api.Requests(); len(reqs) != 1 || reqs[0] != "POST /api/v3/repos/octo-org/octo-repo/attestations" {
		t.Fatalf("requests: %v", reqs)
	}
}

// TestPublishAttestationRateLimits: both kinds of rate limit are waited out and the
// bundle is stored once.
func TestPublishAttestationRateLimits(t *testing.T) {
	f := newFixture(t, 30*time.Second)
	f.api.RateLimitNext(false, time.Second)
	f.api.RateLimitNext(true, time.Second)
	if _, err := f.c.PublishAttestation(t.Context(), dsseBundle(v03, []byte("y"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log.String(), "publish attestation: primary rate limit; retrying") ||
		!strings.Contains(f.log.String(), "publish attestation: rate limited (429); retrying") || len(f.waits) != 2 {
		t.Fatalf("rate limits not waited out:\n%s", f.log)
	}
	if n := len(f.api.Attestations()); n != 1 {
		t.Fatalf("%d stored, want 1", n)
	}
}

// TestPublishAttestationRefused: each refusal names its fix, keeps GitHub's message,
// is not retried, and never carries the token.
func TestPublishAttestationRefused(t *testing.T) {
	b := dsseBundle(v03, []byte("x"))
	for _, tc := range []struct {
		name    string
		code    int
		message string
		bundle  []byte
		want    []string
	}{
		{"no attestations: write", 403, "Resource not accessible by integration", b,
			[]string{"the token lacks `attestations: write`", "add `permissions: attestations: write` to the job", "`contents: write` is not enough", "403 Resource not accessible by integration"}},
		{"repository not visible", 404, "Not Found", b,
			[]string{"the token lacks `attestations: write`", "check the name", "404 Not Found"}},
		{"plan", 403, "Feature not available for user-owned private repositories. To enable this feature, please make this repository public.", b,
			[]string{"GitHub does not offer attestations for this repository", "Feature not available"}},
		{"invalid bundle", 0, "", dsseBundle("application/vnd.dev.sigstore.bundle+json;version=0.1", []byte("x")),
			[]string{"GitHub refused the bundle: ", "422 Validation Failed: unsupported bundle media type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, time.Minute)
			f.api.RefuseAttestations(tc.code, tc.message)
			_, err := f.c.PublishAttestation(t.Context(), tc.bundle)
			if err == nil {
				t.Fatal("published")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error()+f.log.String(), token) || strings.Contains(err.Error(), "--") {
				t.Fatal("the token, or a flag, is in the error or the log")
			}
			if n := len(f.api.Requests()); n != 1 || len(f.api.Attestations()) != 0 {
				t.Fatalf("%d requests: a refusal is not retried", n)
			}
		})
	}
}

// TestPublishSignatureBundleRefused: a message-signature bundle (cachet sign's) is not
// an attestation; it is refused before any request.
func TestPublishSignatureBundleRefused(t *testing.T) {
	f := newFixture(t, time.Minute)
	sig := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"messageSignature":{"signature":"MEUCIQ=="}}`)
	if _, err := f.c.PublishAttestation(t.Context(), sig); !errors.Is(err, ErrNotAttestation) {
		t.Fatalf("want ErrNotAttestation, got %v", err)
	}
	if reqs := f.api.Requests(); len(reqs) != 0 {
		t.Fatalf("requests sent: %v", reqs)
	}
}

// TestFromEnv: the repository and API URL come from the arguments, else the job's
// environment; the token always from GITHUB_TOKEN, masked before the client exists.
func TestFromEnv(t *testing.T) {
	full := map[string]string{"GITHUB_REPOSITORY": "env-org/env-repo", "GITHUB_TOKEN": token, "GITHUB_API_URL": "https://ghes.example.com/api/v3"}
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		repo, api string
		owner     string
		err       error
	}{
		{name: "all from the environment", vars: full, owner: "env-org"},
		{name: "repo given", vars: full, repo: "flag-org/flag-repo", owner: "flag-org"},
		{name: "API URL given", vars: full, api: "https://other.example.com/api/v3", owner: "env-org"},
		{name: "no repository", vars: map[string]string{"GITHUB_TOKEN": token}, err: ErrBadRepo},
		{name: "not owner/name", vars: full, repo: "just-a-name", err: ErrBadRepo},
		{name: "no token", vars: map[string]string{"GITHUB_REPOSITORY": "o/r"}, err: ErrNoToken},
		{name: "bad API URL", vars: full, api: "ftp://x", err: ErrBadAPIURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var masked []string
			c, err := FromEnv(func(k string) string { return tc.vars[k] }, tc.repo, Options{APIURL: tc.api},
				func(s string) { masked = append(masked, s) })
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || c.Owner != tc.owner || len(masked) != 1 || masked[0] != token {
				t.Fatalf("client %+v, err %v, masked %q", c, err, masked)
			}
		})
	}
}
