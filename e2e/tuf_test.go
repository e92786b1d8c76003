package e2e

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/trust/tuftest"
	"sigs.k8s.io/yaml"
)

// tufSigningConfig is the stack's Rekor v2 signing config with the Rekor v1 log listed
// too: signing must pick the highest API version, as cosign v3 does.
func tufSigningConfig(t *testing.T) []byte {
	t.Helper()
	var v1, v2 map[string]any
	if err := json.Unmarshal(readAll(t, stack["CACHET_STACK_SIGNING_CONFIG"]), &v1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readAll(t, stack["CACHET_STACK_SIGNING_CONFIG_V2"]), &v2); err != nil {
		t.Fatal(err)
	}
	v2["rekorTlogUrls"] = append(v1["rekorTlogUrls"].([]any), v2["rekorTlogUrls"].([]any)...)
	b, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tufRepo is a go-tuf repository (consistent snapshots) on loopback whose targets are
// the stack's trusted root and signing config; anchor is its root.json on disk.
type tufRepo struct {
	*tuftest.Repo
	srv    *httptest.Server
	url    string
	anchor string
}

func newTUFRepo(t *testing.T, ws string) *tufRepo {
	t.Helper()
	repo, err := tuftest.New(filepath.Join(ws, "tuf-repo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget("trusted_root.json", readAll(t, stack["CACHET_STACK_TRUSTED_ROOT"])); err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget("signing_config.v0.2.json", tufSigningConfig(t)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
	t.Cleanup(srv.Close)
	r := &tufRepo{Repo: repo, srv: srv, url: srv.URL, anchor: filepath.Join(ws, "tuf-root.json")}
	b, err := repo.RootJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.anchor, string(b))
	return r
}

// bareEnv is a shell with an empty HOME and nothing else of a job: no trust, no runner.
func bareEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
}

// files lists the regular files under dir with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			m[p] = string(readAll(t, p))
		}
		return nil
	})
	return m
}

// TestTUFZeroConfig: with only --tuf-url and --tuf-root (an empty HOME, no trusted root,
// no service flags), cachet sign takes the trusted root and signing config from a TUF
// repository on loopback, follows the config to Rekor v2 (the highest version it lists)
// and the TSA, and writes a bundle cosign verifies; cachet verify with the same two
// flags and an empty cache verifies it; with the TUF server stopped a second sign and
// verify run from their caches, verify even with no network at all (unshare -n).
func TestTUFZeroConfig(t *testing.T) {
	ws := t.TempDir()
	repo := newTUFRepo(t, ws)
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	tufFlags := []string{"--tuf-url", repo.url, "--tuf-root", repo.anchor}
	signHome, verifyHome := t.TempDir(), t.TempDir()
	issuer := stack["CACHET_STACK_OIDC_ISSUER"]
	sign := func(name string) (result, string) {
		t.Helper()
		art := filepath.Join(ws, name)
		writeFile(t, art, "signed with nothing but a TUF repository: "+name)
		args := append(append([]string{"sign"}, tufFlags...), "--identity-token", mintToken(t, ws, nil), "--oidc-issuer", issuer, art)
		return run(t, ws, bareEnv(signHome), cachetBin, args...), art
	}
	r, art := sign("a.txt")
	if r.code != 0 {
		t.Fatalf("sign: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"trusted root: TUF repository " + repo.url + " (refreshed in " + signHome,
		"signing config: Fulcio " + stack["CACHET_STACK_FULCIO_URL"] + ", Rekor " + stack["CACHET_STACK_REKOR_V2_URL"] + " (v2), 1 TSA(s)"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("sign stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	bundle := art + ".sigstore.json"
	b := readBundle(t, bundle)
	if e := b.VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
		t.Fatalf("want one Rekor v2 (hashedrekord 0.0.2) entry: %+v", e)
	}
	if n := len(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps); n != 1 {
		t.Fatalf("%d RFC 3161 timestamps, want 1", n)
	}
	home := t.TempDir()
	if c := run(t, ws, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + home}, stack["CACHET_STACK_COSIGN"],
		"verify-blob", "--bundle", bundle, "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", issuer, "--use-signed-timestamps", art); c.code != 0 {
		t.Fatalf("cosign verify-blob: %s", c.stderr)
	}

	verifyArgs := append(append([]string{"verify"}, tufFlags...), "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", issuer, "--min-timestamps", "1", art)
	if v := run(t, ws, bareEnv(verifyHome), cachetBin, verifyArgs...); v.code != 0 ||
		!strings.Contains(v.stderr, "trusted root: TUF repository "+repo.url+" (refreshed in "+verifyHome) {
		t.Fatalf("verify, empty cache: exit %d\n%s\n%s", v.code, v.stdout, v.stderr)
	}

	// The TUF server stops: both caches are valid (TUF metadata unexpired), so neither
	// command asks for it.
	repo.srv.Close()
	if c := run(t, ws, os.Environ(), "curl", "-fsS", "--max-time", "3", repo.url+"/timestamp.json"); c.code == 0 {
		t.Fatal("the TUF server still answers")
	}
	r, art2 := sign("b.txt")
	if r.code != 0 || !strings.Contains(r.stderr, "trusted root: TUF repository "+repo.url+" (cached in "+signHome) {
		t.Fatalf("second sign, TUF server stopped: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if e := readBundle(t, art2+".sigstore.json").VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
		t.Fatalf("second sign: want a Rekor v2 entry (the cached signing config): %+v", e)
	}
	v := run(t, ws, bareEnv(verifyHome), "unshare", append([]string{"-n", cachetBin}, verifyArgs...)...)
	if v.code != 0 || !strings.Contains(v.stderr, "(cached in "+verifyHome) || strings.Contains(v.stderr, "warning") {
		t.Fatalf("second verify, no network: exit %d\n%s\n%s", v.code, v.stdout, v.stderr)
	}
}

// TestTUFRefusals: a repository whose timestamp is signed by a key the TUF root does not
// trust, one serving expired timestamp metadata, one rolled back to an older version
// than the cache verified, and an unreachable one with an empty cache: cachet sign
// refuses each (exit 1) with a message naming the repository and what is wrong, writes
// no bundle, and leaves the trust cache as it was (empty, or the earlier good copy).
func TestTUFRefusals(t *testing.T) {
	issuer := stack["CACHET_STACK_OIDC_ISSUER"]
	unreachable := refusingURL(t)
	for _, tc := range []struct {
		name string
		// prepare publishes what the repository serves; it may fill the cache in home
		// first (with the URL and root it is given).
		prepare func(t *testing.T, repo *tufRepo, home string)
		url     func(repo *tufRepo) string
		want    []string
	}{
		{name: "untrusted key", prepare: func(t *testing.T, repo *tufRepo, _ string) {
			if err := repo.PublishBadlySigned(); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"TUF repository refused", "not signed by the keys the TUF root trusts"}},
		{name: "expired timestamp", prepare: func(t *testing.T, repo *tufRepo, _ string) {
			if err := repo.PublishExpired(); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"TUF repository refused", "metadata expired", "timestamp.json is expired"}},
		{name: "rollback", prepare: func(t *testing.T, repo *tufRepo, home string) {
			// Version A, then version B whose timestamp expires in 3 s; the cache
			// verifies B; once B expired, the repository serves A again.
			if err := repo.Publish(); err != nil {
				t.Fatal(err)
			}
			repo.Timestamp.Signed.Expires = time.Now().Add(3 * time.Second)
			if err := repo.Publish(); err != nil {
				t.Fatal(err)
			}
			if r := run(t, home, bareEnv(home), cachetBin, "trust", "refresh", "--tuf-url", repo.url, "--tuf-root", repo.anchor); r.code != 0 {
				t.Fatalf("refresh: %s", r.stderr)
			}
			// The wait is the thing tested: B must really have expired for the cachet
			// process, whose TUF client checks the wall clock.
			time.Sleep(3500 * time.Millisecond)
			if err := repo.RollBack(); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"TUF repository refused", "rollback", "new timestamp version"}},
		{name: "unreachable, empty cache", prepare: func(*testing.T, *tufRepo, string) {},
			url:  func(*tufRepo) string { return unreachable },
			want: []string{"tuf " + unreachable + ": TUF repository unreachable", "make " + unreachable + " reachable", "--trusted-root FILE", "signing never uses expired or embedded trust"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, home := t.TempDir(), t.TempDir()
			repo := newTUFRepo(t, ws)
			tc.prepare(t, repo, home)
			url := repo.url
			if tc.url != nil {
				url = tc.url(repo)
			}
			before := files(t, home)
			art := filepath.Join(ws, "a.txt")
			writeFile(t, art, "must not be signed")
			r := run(t, ws, bareEnv(home), cachetBin, "sign", "--tuf-url", url, "--tuf-root", repo.anchor,
				"--identity-token", mintToken(t, ws, nil), "--oidc-issuer", issuer, art)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range append(tc.want, "tuf "+url) {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if m, _ := filepath.Glob(art + "*.json"); len(m) > 0 {
				t.Fatalf("bundle written: %v", m)
			}
			after := files(t, home)
			if len(after) != len(before) {
				t.Fatalf("the refusal changed the cache: %d files before, %d after: %v", len(before), len(after), after)
			}
			for p, c := range before {
				if after[p] != c {
					t.Fatalf("the refusal changed %s", p)
				}
			}
			t.Logf("%s: %s", tc.name, strings.TrimSpace(r.stderr))
		})
	}
}

// TestReadmeAdoptionSnippet: the README's adoption snippet is at most 5 lines of YAML,
// names no trusted-root file, asks for id-token: write, and uses only inputs the sign
// action has: what TestContainerActionsTUF runs (with the public-good defaults).
func TestReadmeAdoptionSnippet(t *testing.T) {
	readme := string(readAll(t, "../README.md"))
	_, rest, ok := strings.Cut(readme, "<!-- adoption -->\n```yaml\n")
	if !ok {
		t.Fatal("README has no <!-- adoption --> yaml block")
	}
	snippet, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated adoption block")
	}
	if n := strings.Count(snippet, "\n"); n > 5 || n == 0 {
		t.Fatalf("adoption snippet is %d lines, want at most 5:\n%s", n, snippet)
	}
	if strings.Contains(snippet, "trusted-root") || strings.Contains(snippet, "trusted_root") {
		t.Fatalf("adoption snippet names a trusted root:\n%s", snippet)
	}
	var job struct {
		Permissions map[string]string `json:"permissions"`
		Steps       []struct {
			Uses string            `json:"uses"`
			With map[string]string `json:"with"`
		} `json:"steps"`
	}
	if err := yaml.UnmarshalStrict([]byte(snippet), &job); err != nil {
		t.Fatalf("adoption snippet: %v\n%s", err, snippet)
	}
	if job.Permissions["id-token"] != "write" || len(job.Steps) != 1 || job.Steps[0].Uses != "cachet-sign/cachet@v1" {
		t.Fatalf("adoption snippet: %+v", job)
	}
	meta := readAction(t, "../action.yml")
	for k := range job.Steps[0].With {
		if _, ok := meta.Inputs[k]; !ok {
			t.Errorf("adoption snippet uses input %s, which action.yml does not have", k)
		}
	}
}
