package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
)

const ghToken = "ghs_faketoken0123456789"

// releaseEnv is a job's environment with a GITHUB_TOKEN for the fake API.
func releaseEnv(t *testing.T, ws string) []string {
	return append(jobEnv(t, ws), "GITHUB_TOKEN="+ghToken, "GITHUB_REPOSITORY=octo-org/octo-repo")
}

func releaseArgs(api *fakegithubapi.Server, ws, tag string, extra ...string) []string {
	args := append([]string{"release", "--tag", tag, "--github-api-url", api.URL, "--audit-log", filepath.Join(ws, "audit.jsonl")}, stackFlags()...)
	return append(args, extra...)
}

func countPrefix(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// TestReleaseSignsAssetsOnFakeGitHub: cachet release against the fake GitHub REST API
// (GHES paths, pagination of 2, 302 downloads from a storage host that refuses the
// token) signs every asset of the release on the local stack and uploads
// ASSET.sigstore.json beside each; cosign verifies every uploaded bundle against the
// asset. A re-run uploads nothing; --replace replaces every bundle; primary and
// secondary rate limits are waited out; an unknown tag is a clear usage error.
func TestReleaseSignsAssetsOnFakeGitHub(t *testing.T) {
	api, err := fakegithubapi.Start(ghToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	api.MaxPerPage = 2
	rel := api.AddRelease("octo-org/octo-repo", "v1.2.3")
	names := []string{"app-linux-amd64.tar.gz", "app-darwin-arm64.tar.gz", "app.zip", "SHA256SUMS", "notes (final).txt"}
	content := map[string][]byte{}
	for i, n := range names {
		content[n] = []byte(fmt.Sprintf("asset %d %s %d\n", i, n, time.Now().UnixNano()))
		api.AddAsset(rel, n, content[n])
	}
	ws := t.TempDir()
	env := releaseEnv(t, ws)

	// 1. First run: five bundles uploaded, through a rate limit of each kind.
	api.RateLimitNext(false, time.Second) // primary: 403, x-ratelimit-remaining 0, reset
	api.RateLimitNext(true, time.Second)  // secondary: 429 with Retry-After
	start := time.Now()
	r := run(t, ws, env, cachetBin, releaseArgs(api, ws, "v1.2.3")...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("first run %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(r.stderr, "primary rate limit; retrying") || !strings.Contains(r.stderr, "rate limited (429); retrying") {
		t.Fatalf("rate limits not met and waited out:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "::add-mask::"+ghToken) {
		t.Fatalf("GITHUB_TOKEN not masked:\n%s", r.stdout)
	}
	if strings.Contains(r.stderr, ghToken) {
		t.Fatal("the token is in the log")
	}
	reqs := api.Requests()
	if n := countPrefix(reqs, "POST /api/uploads/repos/octo-org/octo-repo/releases/"); n != len(names) {
		t.Fatalf("%d uploads, want %d: %v", n, len(names), reqs)
	}
	if n := countPrefix(reqs, "GET /api/v3/repos/octo-org/octo-repo/releases/"+fmt.Sprint(rel)+"/assets"); n < 3 {
		t.Fatalf("asset list not paginated (%d pages): %v", n, reqs)
	}
	if n := countPrefix(reqs, "GET /_storage/"); n != len(names) {
		t.Fatalf("%d storage downloads, want %d: %v", n, len(names), reqs)
	}
	assets := api.Assets(rel)
	first := map[string][]byte{}
	dir := t.TempDir()
	for _, n := range names {
		b, ok := assets[n+".sigstore.json"]
		if !ok {
			t.Fatalf("no %s.sigstore.json on the release; assets: %v", n, keys(assets))
		}
		if b.ContentType != "application/json" {
			t.Errorf("%s: content type %q", n, b.ContentType)
		}
		first[n] = b.Data
		art := filepath.Join(dir, n)
		writeFile(t, art, string(content[n]))
		writeFile(t, art+".sigstore.json", string(b.Data))
		if v := cosignVerify(t, dir, art+".sigstore.json", wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], art); v.code != 0 {
			t.Fatalf("cosign rejected the uploaded bundle of %s: %s", n, v.stderr)
		}
	}

	// 2. Re-run: every bundle verifies, nothing is uploaded or deleted.
	r = run(t, ws, env, cachetBin, releaseArgs(api, ws, "v1.2.3")...)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.stderr)
	}
	reqs = api.Requests()
	if n := countPrefix(reqs, "POST ") + countPrefix(reqs, "DELETE "); n != 0 {
		t.Fatalf("re-run changed the release: %v", reqs)
	}
	if !strings.Contains(r.stdout, "0 bundles uploaded, 0 replaced, 5 kept, 0 failed of 5 assets") {
		t.Fatalf("re-run report:\n%s", r.stdout)
	}

	// 3. --replace: every bundle is deleted and uploaded again, freshly signed.
	r = run(t, ws, env, cachetBin, releaseArgs(api, ws, "v1.2.3", "--replace")...)
	if r.code != 0 {
		t.Fatalf("--replace: exit %d\n%s", r.code, r.stderr)
	}
	reqs = api.Requests()
	if countPrefix(reqs, "DELETE ") != len(names) || countPrefix(reqs, "POST /api/uploads/") != len(names) {
		t.Fatalf("--replace did not replace every bundle: %v", reqs)
	}
	for n, a := range api.Assets(rel) {
		if base, ok := strings.CutSuffix(n, ".sigstore.json"); ok && bytes.Equal(a.Data, first[base]) {
			t.Fatalf("%s was not replaced", n)
		}
	}

	// 4. Unknown tag: usage error naming the tag, nothing signed.
	r = run(t, ws, env, cachetBin, releaseArgs(api, ws, "v9.9.9")...)
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, `release "v9.9.9" not found in octo-org/octo-repo`) {
		t.Fatalf("unknown tag: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestReleaseForeignBundleNeedsReplace: a bundle asset already on the release that does
// not verify for this asset (here another asset's bundle) is reported and left alone;
// --replace replaces it.
func TestReleaseForeignBundleNeedsReplace(t *testing.T) {
	api, err := fakegithubapi.Start(ghToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	rel := api.AddRelease("octo-org/octo-repo", "v2.0.0")
	api.AddAsset(rel, "a.bin", []byte("a "+time.Now().String()))
	api.AddAsset(rel, "b.bin", []byte("b "+time.Now().String()))
	ws := t.TempDir()
	env := releaseEnv(t, ws)
	if r := run(t, ws, env, cachetBin, releaseArgs(api, ws, "v2.0.0")...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// Put b's bundle under a's name.
	assets := api.Assets(rel)
	rel2 := api.AddRelease("octo-org/octo-repo", "v2.0.1")
	api.AddAsset(rel2, "a.bin", assets["a.bin"].Data)
	api.AddAsset(rel2, "b.bin", assets["b.bin"].Data)
	api.AddAsset(rel2, "a.bin.sigstore.json", assets["b.bin.sigstore.json"].Data)
	api.Requests()
	r := run(t, ws, env, cachetBin, releaseArgs(api, ws, "v2.0.1")...)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "a.bin: the release's a.bin.sigstore.json does not verify") ||
		!strings.Contains(r.stdout+r.stderr, "pass --replace") {
		t.Fatalf("foreign bundle: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	reqs := api.Requests()
	if countPrefix(reqs, "DELETE ") != 0 || countPrefix(reqs, "POST /api/uploads/") != 1 {
		t.Fatalf("want b's bundle uploaded and a's left alone: %v", reqs)
	}
	if r := run(t, ws, env, cachetBin, releaseArgs(api, ws, "v2.0.1", "--replace")...); r.code != 0 {
		t.Fatalf("--replace: exit %d\n%s", r.code, r.stderr)
	}
	a := api.Assets(rel2)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.bin"), string(a["a.bin"].Data))
	writeFile(t, filepath.Join(dir, "a.bin.sigstore.json"), string(a["a.bin.sigstore.json"].Data))
	if v := cosignVerify(t, dir, filepath.Join(dir, "a.bin.sigstore.json"), wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], filepath.Join(dir, "a.bin")); v.code != 0 {
		t.Fatalf("cosign rejected the replacement: %s", v.stderr)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestReleaseRefusesControlNames: a release asset whose name holds a line break (the
// API is whoever answers it) fails alone, shown quoted; it never starts a workflow
// command in the log, and the other assets are signed.
func TestReleaseRefusesControlNames(t *testing.T) {
	api, err := fakegithubapi.Start(ghToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	rel := api.AddRelease("octo-org/octo-repo", "v3.0.0")
	api.AddAsset(rel, "good.bin", []byte("good "+time.Now().String()))
	bad := "bad\n::add-mask::x\n::warning::forged.bin"
	api.AddAsset(rel, bad, []byte("bad"))
	ws := t.TempDir()
	r := run(t, ws, releaseEnv(t, ws), cachetBin, releaseArgs(api, ws, "v3.0.0")...)
	out := r.stdout + r.stderr
	if r.code != 1 || !strings.Contains(out, `"bad\n::add-mask::x\n::warning::forged.bin": the asset's name holds a control character`) {
		t.Fatalf("exit %d (want 1)\n%s", r.code, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::") && !strings.HasPrefix(l, "::error") && !strings.HasPrefix(l, "::add-mask::") || l == "::add-mask::x" {
			t.Errorf("an asset name started a workflow command: %q", l)
		}
	}
	assets := api.Assets(rel)
	if _, ok := assets["good.bin.sigstore.json"]; !ok {
		t.Errorf("good.bin was not signed: %v", keys(assets))
	}
	if _, ok := assets[bad+".sigstore.json"]; ok {
		t.Error("the badly named asset got a bundle")
	}
}

// TestReleaseRefusesHugeExistingBundle: an existing "bundle" asset larger than any
// bundle is not downloaded into memory or disk to be judged: that asset fails with the
// fix (--replace), the others are signed.
func TestReleaseRefusesHugeExistingBundle(t *testing.T) {
	api, err := fakegithubapi.Start(ghToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	rel := api.AddRelease("octo-org/octo-repo", "v3.1.0")
	api.AddAsset(rel, "a.bin", []byte("a "+time.Now().String()))
	api.AddAsset(rel, "b.bin", []byte("b "+time.Now().String()))
	api.AddAsset(rel, "a.bin.sigstore.json", make([]byte, 17<<20))
	ws := t.TempDir()
	r := run(t, ws, releaseEnv(t, ws), cachetBin, releaseArgs(api, ws, "v3.1.0")...)
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "larger than any bundle") || !strings.Contains(r.stdout+r.stderr, "--replace") {
		t.Fatalf("exit %d (want 1)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, ok := api.Assets(rel)["b.bin.sigstore.json"]; !ok {
		t.Error("b.bin was not signed")
	}
	for _, req := range api.Requests() {
		if strings.Contains(req, "GET") && strings.Contains(req, "/assets/") && strings.HasSuffix(req, fmt.Sprint(api.Assets(rel)["a.bin.sigstore.json"].ID)) {
			t.Errorf("the oversized asset was downloaded: %s", req)
		}
	}
}
