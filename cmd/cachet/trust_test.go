package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
	"github.com/cachet-sign/cachet/internal/testnet"
	"github.com/cachet-sign/cachet/trust"
	"github.com/cachet-sign/cachet/trust/publicgood"
)

const (
	vecDir  = "../../testdata/verify"
	vecRoot = vecDir + "/trusted_root.json"
)

// vecPolicy is the verify policy the vectors satisfy.
func vecPolicy(t *testing.T) []string {
	t.Helper()
	var v struct{ Identity, Issuer string }
	b, err := os.ReadFile(filepath.Join(vecDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return []string{"--certificate-identity", v.Identity, "--certificate-oidc-issuer", v.Issuer}
}

// importInto puts a trust file into dir with `cachet trust import`, age ago.
func importInto(t *testing.T, vars map[string]string, file, dir string, age time.Duration) {
	t.Helper()
	args := []string{"trust", "import", file}
	if dir != "" {
		args = append(args, "--dir", dir)
	} else {
		dir = trust.DefaultDir(func(k string) string { return vars[k] })
	}
	if code, out, errs := runCmd(t, vars, args...); code != 0 || !strings.Contains(out, filepath.Join(dir, trust.TrustedRootFile)) {
		t.Fatalf("import: exit %d: %s %s", code, out, errs)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(filepath.Join(dir, "imported.json"), when, when); err != nil {
		t.Fatal(err)
	}
}

// unreachableTUF names a TUF mirror of the public-good repository that does not answer
// (testnet.RefusingURL: a port held for the test, refusing), so that no test depends
// on the internet.
func unreachableTUF(t *testing.T) string { return testnet.RefusingURL(t) }

// TestVerifyTrustedRootResolution: without --trusted-root, verify and verify-bundle use
// an imported trust cache (warning when it is old), else the TUF repository, which
// being unreachable here leaves the embedded public-good snapshot, with a warning; they
// say which on stderr once; --trusted-root (a file or an envelope) always wins. The
// local stack's bundles fail against the snapshot, naming the log it does not list.
func TestVerifyTrustedRootResolution(t *testing.T) {
	unreachableTUF := unreachableTUF(t)
	art := filepath.Join(vecDir, "artifact.txt")
	bundle := filepath.Join(vecDir, "artifact.txt.cachet.sigstore.json")
	pgFile := filepath.Join(t.TempDir(), "publicgood.json")
	if err := os.WriteFile(pgFile, publicgood.TrustedRootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "trust.json")
	if code, _, errs := runCmd(t, nil, "trust", "export", "--trusted-root", vecRoot, "--out", envFile); code != 0 {
		t.Fatal(errs)
	}
	const embedded = "trusted root: embedded public-good snapshot (github.com/sigstore/sigstore@v1.10.9"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, vars map[string]string) // fills vars (HOME is a fresh directory)
		args  []string
		code  int
		want  []string // in stderr (or stdout for FAIL lines)
		not   []string // in neither
	}{
		{name: "embedded snapshot, TUF unreachable, nothing cached", code: 1,
			want: []string{embedded, "warning: tuf " + unreachableTUF + ": TUF repository unreachable", "tlog-invalid", "which the trusted root does not list"}},
		{name: "embedded for verify-bundle", args: []string{"verify-bundle", "--bundle", bundle}, code: 1,
			want: []string{embedded, "not verified: tlog-invalid", "which the trusted root does not list"}},
		{name: "trust cache (default dir under HOME)", code: 0,
			setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, vecRoot, "", time.Hour) },
			want:  []string{"(trust cache, imported 1 hours ago)", "1 verified, 0 failed"}, not: []string{"embedded", "warning", "tuf"}},
		{name: "a named TUF repository wins over an import", code: 1, args: []string{"verify", "--tuf-url", unreachableTUF},
			setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, vecRoot, "", time.Hour) },
			want:  []string{embedded, "TUF repository unreachable"}},
		{name: "trust cache under XDG_CACHE_HOME", code: 0,
			setup: func(t *testing.T, vars map[string]string) {
				vars["XDG_CACHE_HOME"] = t.TempDir()
				importInto(t, vars, envFile, "", 0)
			},
			want: []string{"/cachet/trust/trusted_root.json (trust cache"}},
		{name: "stale trust cache in CACHET_TRUST_DIR", code: 0,
			setup: func(t *testing.T, vars map[string]string) {
				vars[trust.DirEnv] = filepath.Join(t.TempDir(), "trust")
				importInto(t, vars, vecRoot, vars[trust.DirEnv], 10*24*time.Hour+time.Minute)
			},
			want: []string{"warning: trusted root cache ", " was imported 10 days ago: import a newer `cachet trust export`"}},
		{name: "stale trust cache in Actions: an annotation on stderr", code: 0,
			setup: func(t *testing.T, vars map[string]string) {
				vars["GITHUB_ACTIONS"] = "true"
				importInto(t, vars, vecRoot, "", 30*24*time.Hour+time.Minute)
			},
			want: []string{"::warning::trusted root cache ", "was imported 30 days ago"}},
		{name: "explicit file wins over the cache", code: 0, args: []string{"verify", "--trusted-root", vecRoot},
			setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, pgFile, "", 0) },
			not:   []string{"trusted root:"}},
		{name: "explicit envelope wins over the cache", code: 0, args: []string{"verify", "--trusted-root", envFile},
			setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, pgFile, "", 0) },
			not:   []string{"trusted root:"}},
		{name: "explicit public-good file: refused, no notice", code: 1, args: []string{"verify", "--trusted-root", pgFile},
			setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, vecRoot, "", 0) },
			want:  []string{"which the trusted root does not list"}, not: []string{"trusted root:"}},
		{name: "damaged cache is a usage error", code: 2,
			setup: func(t *testing.T, vars map[string]string) {
				vars[trust.DirEnv] = t.TempDir()
				importInto(t, vars, vecRoot, vars[trust.DirEnv], 0)
				if err := os.WriteFile(filepath.Join(vars[trust.DirEnv], trust.TrustedRootFile), []byte("{"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"trust cache: ", "import the file again, or remove"}},
		{name: "a bad --tuf-root is a usage error", code: 2, args: []string{"verify", "--tuf-url", unreachableTUF, "--tuf-root", "/nonexistent/root.json"},
			want: []string{"--tuf-root: open /nonexistent/root.json"}},
		{name: "a TUF root without its URL", code: 2, args: []string{"verify-bundle", "--bundle", bundle, "--tuf-url", "", "--tuf-root", vecRoot},
			setup: func(t *testing.T, vars map[string]string) { delete(vars, "CACHET_TUF_URL") },
			want:  []string{"--tuf-root (CACHET_TUF_ROOT) needs --tuf-url (CACHET_TUF_URL)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"HOME": t.TempDir(), "CACHET_TUF_URL": unreachableTUF}
			if tc.setup != nil {
				tc.setup(t, vars)
			}
			args := tc.args
			if args == nil {
				args = []string{"verify"}
			}
			args = append(append(args, vecPolicy(t)...), art)
			if args[0] == "verify" {
				args = append(args[:len(args)-1], "sha256:5a58ec35e0ed7c5d62e91a35f6bfe5474c01b710cb9f49fbb156ab3773539f4a="+bundle)
			}
			code, out, errs := runCmd(t, vars, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", w, out, errs)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out+errs, n) {
					t.Errorf("output has %q\nstdout: %s\nstderr: %s", n, out, errs)
				}
			}
			if n := strings.Count(errs, "trusted root: "); n > 1 {
				t.Errorf("the trusted root was announced %d times: %s", n, errs)
			}
			if strings.Contains(out, "::warning::") {
				t.Errorf("a warning on stdout, where a JSON report may be: %s", out)
			}
		})
	}
}

// signingConfigFile writes a signing config v0.2 whose services listen nowhere.
func signingConfigFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signing_config.json")
	err := os.WriteFile(p, []byte(`{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [{"url": "http://127.0.0.1:9/from-config-fulcio", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "a"}],
  "oidcUrls": [],
  "rekorTlogUrls": [{"url": "http://127.0.0.1:9/from-config-rekor", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "a"}],
  "tsaUrls": [],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": {"selector": "ANY"}
}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSigningCommandsTrust: sign, attest and release find their trusted root the same
// way: --trusted-root, a trust export given as --signing-config (which also chooses
// the services), an imported trust cache, or the TUF repository; never the embedded
// snapshot: an unreachable repository fails the run (exit 1) naming it and the fix.
// With a root found they go on to ask the runner for a token, which this environment
// refuses (exit 3).
func TestSigningCommandsTrust(t *testing.T) {
	unreachableTUF := unreachableTUF(t)
	ws := t.TempDir()
	art := filepath.Join(ws, "app.bin")
	if err := os.WriteFile(art, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	scFile := signingConfigFile(t)
	envFile := filepath.Join(ws, "trust.json")
	if code, _, errs := runCmd(t, nil, "trust", "export", "--trusted-root", vecRoot, "--signing-config", scFile, "--out", envFile); code != 0 {
		t.Fatal(errs)
	}
	api, err := fakegithubapi.Start("gh-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	rel := api.AddRelease("octo-org/octo-repo", "v1")
	api.AddAsset(rel, "app.bin", []byte("payload"))

	cmds := map[string][]string{
		"sign":    {"sign", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--artifacts", art},
		"attest":  {"attest", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--subject-path", art, "--bundle", filepath.Join(ws, "app.intoto.json")},
		"release": {"release", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--tag", "v1", "--repo", "octo-org/octo-repo", "--github-api-url", api.URL},
	}
	for _, name := range []string{"sign", "attest", "release"} {
		for _, tc := range []struct {
			name  string
			extra []string
			setup func(t *testing.T, vars map[string]string)
			code  int
			want  []string
		}{
			{name: "TUF unreachable: refused, no snapshot", code: 1,
				want: []string{"no trusted root: tuf " + unreachableTUF + ": TUF repository unreachable", "signing never uses expired or embedded trust",
					"make " + unreachableTUF + " reachable", "--trusted-root FILE"}},
			{name: "--trusted-root", extra: []string{"--trusted-root", vecRoot}, code: 3, want: []string{"permissions: id-token: write"}},
			{name: "--trusted-root envelope", extra: []string{"--trusted-root", envFile}, code: 3, want: []string{"permissions: id-token: write"}},
			{name: "--signing-config envelope alone", extra: []string{"--signing-config", envFile}, code: 3,
				want: []string{"signing config: Fulcio http://127.0.0.1:9/from-config-fulcio, Rekor http://127.0.0.1:9/from-config-rekor", "permissions: id-token: write"}},
			{name: "--signing-config plain needs a root", extra: []string{"--signing-config", scFile}, code: 1,
				want: []string{"signing config: Fulcio http://127.0.0.1:9/from-config-fulcio", "no trusted root", "TUF repository unreachable"}},
			{name: "imported trust cache, with its signing config", code: 3,
				setup: func(t *testing.T, vars map[string]string) { importInto(t, vars, envFile, "", time.Minute) },
				want: []string{"(trust cache, imported", "signing config: Fulcio http://127.0.0.1:9/from-config-fulcio, Rekor http://127.0.0.1:9/from-config-rekor",
					"permissions: id-token: write"}},
			{name: "old import: signing refused", code: 2,
				setup: func(t *testing.T, vars map[string]string) {
					importInto(t, vars, vecRoot, "", 8*24*time.Hour+time.Minute)
				},
				want: []string{"is stale (imported 192h0m0s ago): signing needs current trust", "cachet trust refresh"}},
			{name: "an unwritable trust cache", code: 2,
				setup: func(t *testing.T, vars map[string]string) {
					// Under a regular file: unwritable even for root, who runs container actions.
					file := filepath.Join(t.TempDir(), "file")
					if err := os.WriteFile(file, nil, 0o644); err != nil {
						t.Fatal(err)
					}
					vars[trust.DirEnv] = filepath.Join(file, "trust")
				},
				want: []string{"trust cache not writable", "set CACHET_TRUST_DIR to a writable directory"}},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				vars := map[string]string{"HOME": t.TempDir(), "GITHUB_TOKEN": "gh-token", "CACHET_TUF_URL": unreachableTUF}
				if tc.setup != nil {
					tc.setup(t, vars)
				}
				code, out, errs := runCmd(t, vars, append(append([]string{}, cmds[name]...), tc.extra...)...)
				if code != tc.code {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
				}
				for _, w := range tc.want {
					if !strings.Contains(out+errs, w) {
						t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", w, out, errs)
					}
				}
				if strings.Contains(errs, "embedded public-good") && !strings.Contains(errs, "does not fall back") {
					t.Errorf("a signing command used the embedded snapshot: %s", errs)
				}
			})
		}
	}
}
