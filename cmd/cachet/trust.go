package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/trust"
	"github.com/sethvargo/go-githubactions"
	"github.com/sigstore/sigstore-go/pkg/root"
)

var trustCommands = []command{
	{name: "export", summary: "write a trusted root and a signing config as one file for an air-gapped machine:\n" +
		"           cachet trust export --trusted-root T [--signing-config S] --out FILE",
		run: func(_ context.Context, args []string, e *env) error { return cmdTrustExport(args, e) }},
	{name: "import", summary: "unpack such a file into DIR/trusted_root.json and DIR/signing_config.v0.2.json:\n" +
		"           cachet trust import FILE [--dir DIR]",
		run: func(_ context.Context, args []string, e *env) error { return cmdTrustImport(args, e) }},
	{name: "refresh", summary: "update DIR/trusted_root.json and DIR/signing_config.v0.2.json from a TUF repository\n" +
		"           (default: the Sigstore public-good one, trusted through sigstore-go's embedded TUF root):\n" +
		"           cachet trust refresh [--tuf-url URL [--tuf-root root.json]] [--cache DIR]",
		run: func(_ context.Context, args []string, e *env) error { return cmdTrustRefresh(args, e) }},
}

const trustFooter = `DIR defaults to the trust cache: $CACHET_TRUST_DIR, else $XDG_CACHE_HOME/cachet/trust, else
$HOME/.cache/cachet/trust. Without --trusted-root, sign, attest, release, verify and verify-bundle
use an imported cache as it is (unless --tuf-url/--tuf-root name a repository), else the TUF
repository's trust (--tuf-url, $CACHET_TUF_URL; default the public-good one): from the cache while
its TUF metadata is valid, else refreshed first. When the repository is unreachable, verify uses
what it last served, else the embedded public-good snapshot, with a warning; signing fails instead.
--trusted-root and --signing-config also take the exported file directly.
Run 'cachet trust <command> -h' for a command's flags.`

func cmdTrust(ctx context.Context, args []string, e *env) error {
	return dispatch(ctx, args, e, "cachet trust", trustCommands, trustFooter)
}

// parseInterspersed parses flags given before or after the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string, e *env) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, e); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdTrustExport(args []string, e *env) error {
	var trPath, scPath, out string
	fs := flag.NewFlagSet("cachet trust export", flag.ContinueOnError)
	fs.StringVar(&trPath, "trusted-root", "", "Sigstore trusted_root.json (required)")
	fs.StringVar(&scPath, "signing-config", "", "Sigstore signing config v0.2 (optional)")
	fs.StringVar(&out, "out", "", "file to write ("+trust.MediaType+"); - for stdout (required)")
	pos, err := parseInterspersed(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) > 0 || trPath == "" || out == "" {
		return usagef("usage: cachet trust export --trusted-root T [--signing-config S] --out FILE")
	}
	tr, err := regfile.ReadFile(trPath, trust.MaxFileSize)
	if err != nil {
		return usagef("--trusted-root: %v", err)
	}
	var sc []byte
	if scPath != "" {
		if sc, err = regfile.ReadFile(scPath, trust.MaxFileSize); err != nil {
			return usagef("--signing-config: %v", err)
		}
	}
	env, err := trust.Export(tr, sc)
	if err != nil {
		return usagef("%v", err)
	}
	if out == "-" {
		_, err = e.stdout.Write(env)
		return err
	}
	if err := os.WriteFile(out, env, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s (%s)\n", out, trust.MediaType)
	return nil
}

func cmdTrustImport(args []string, e *env) error {
	var dir string
	fs := flag.NewFlagSet("cachet trust import", flag.ContinueOnError)
	fs.StringVar(&dir, "dir", trust.DefaultDir(e.getenv), "directory for trusted_root.json and signing_config.v0.2.json; default the trust cache, which verify and sign read")
	pos, err := parseInterspersed(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) != 1 || dir == "" {
		return usagef("usage: cachet trust import FILE [--dir DIR] (no default DIR: set %s or HOME)", trust.DirEnv)
	}
	m, err := trust.ReadFile(pos[0])
	if err != nil {
		return err
	}
	paths, err := trust.Import(m, dir)
	if err == nil {
		err = trust.MarkImported(dir, pos[0], time.Now())
	}
	if err != nil {
		return fmt.Errorf("trust import: %w", err)
	}
	for _, p := range paths {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

func cmdTrustRefresh(args []string, e *env) error {
	var url, rootPath, cache string
	var timeout time.Duration
	fs := flag.NewFlagSet("cachet trust refresh", flag.ContinueOnError)
	fs.StringVar(&url, "tuf-url", "", "TUF repository base URL publishing trusted_root.json and signing_config.v0.2.json; default "+trust.PublicGoodRepository+" (alone: a mirror of it)")
	fs.StringVar(&rootPath, "tuf-root", "", "TUF root.json to trust first, distributed out of band; default sigstore-go's embedded public-good TUF root (needs --tuf-url)")
	fs.StringVar(&cache, "cache", trust.DefaultDir(e.getenv), "directory for the TUF metadata and the refreshed trusted_root.json and signing_config.v0.2.json; default the trust cache")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "time limit for each HTTP request")
	pos, err := parseInterspersed(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) > 0 || (rootPath != "" && url == "") {
		return usagef("usage: cachet trust refresh [--tuf-url URL [--tuf-root root.json]] [--cache DIR] (a --tuf-root needs the --tuf-url of the repository it signs)")
	}
	if cache == "" {
		return usagef("no trust cache: pass --cache DIR or set %s (HOME is not set either)", trust.DirEnv)
	}
	var anchor []byte
	if rootPath != "" {
		if anchor, err = regfile.ReadFile(rootPath, trust.MaxFileSize); err != nil {
			return usagef("--tuf-root: %v", err)
		}
	}
	// go-tuf's fetcher takes no context: the HTTP timeout bounds each request.
	m, err := trust.Refresh(trust.RefreshOptions{RepositoryURL: url, Root: anchor, CacheDir: cache, HTTPClient: &http.Client{Timeout: timeout}})
	if errors.Is(err, trust.ErrCacheNotWritable) {
		return usagef("%v: pass --cache DIR or set %s to a writable directory", err, trust.DirEnv)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "TUF repository %s: metadata valid until %s\n", m.Repository, m.Expires.UTC().Format(time.RFC3339))
	fmt.Fprintln(e.stdout, filepath.Join(cache, trust.TrustedRootFile))
	if m.SigningConfig != nil {
		fmt.Fprintln(e.stdout, filepath.Join(cache, trust.SigningConfigFile))
	}
	return nil
}

// tufFlags name the TUF repository trust comes from when no trusted root is given.
type tufFlags struct {
	url, root string
	staging   bool // the Sigstore staging instance's repository (verify, verify-bundle)
}

// Environment variables standing in for --tuf-url and --tuf-root.
const (
	tufURLEnv  = "CACHET_TUF_URL"
	tufRootEnv = "CACHET_TUF_ROOT"
)

func (t *tufFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.url, "tuf-url", "", "TUF repository publishing trusted_root.json and signing_config.v0.2.json, used without --trusted-root; default $"+tufURLEnv+", else "+trust.PublicGoodRepository)
	fs.StringVar(&t.root, "tuf-root", "", "initial root.json of that TUF repository (a private Sigstore), distributed out of band; default $"+tufRootEnv+", else sigstore-go's embedded public-good TUF root")
}

// names are the repository URL and root file the flags or their environment
// variables give.
func (t *tufFlags) names(e *env) (url, rootPath string, err error) {
	url, rootPath = t.url, t.root
	if url == "" {
		url = e.getenv(tufURLEnv)
	}
	if rootPath == "" {
		rootPath = e.getenv(tufRootEnv)
	}
	if rootPath != "" && url == "" {
		return "", "", usagef("--tuf-root (%s) needs --tuf-url (%s): the repository that root signs", tufRootEnv, tufURLEnv)
	}
	return url, rootPath, nil
}

// options are the repository the flags (or their environment variables) name; named
// says whether a flag (or action input) named one, which puts it before an imported
// trust cache; the environment variables are only defaults.
func (t *tufFlags) options(e *env) (o trust.RefreshOptions, named bool, err error) {
	if t.staging {
		if t.url != "" || t.root != "" {
			return o, false, usagef("--staging names the staging TUF repository: give it or --tuf-url/--tuf-root, not both")
		}
		o.RepositoryURL, o.Root = trust.StagingRepository, trust.StagingRoot()
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
		return o, true, nil
	}
	url, rootPath, err := t.names(e)
	if err != nil {
		return o, false, err
	}
	if rootPath != "" {
		if o.Root, err = os.ReadFile(rootPath); err != nil {
			return o, false, usagef("--tuf-root: %v", err)
		}
	}
	// go-tuf's fetcher takes no context: the HTTP timeout bounds each request.
	o.RepositoryURL, o.HTTPClient = url, &http.Client{Timeout: 30 * time.Second}
	return o, t.url != "" || t.root != "", nil
}

// verifyTrustedRoot is the trusted root verify and verify-bundle use: --trusted-root (a
// trusted_root.json or a cachet trust envelope), else an imported trust cache, else the
// TUF repository's (its cache while valid, else refreshed); when the repository cannot
// be reached, what it last served, else the embedded public-good snapshot, with a
// warning. Verification itself stays offline in every case.
func verifyTrustedRoot(e *env, path string, tf *tufFlags) (*root.TrustedRoot, error) {
	r, err := resolveTrustedRoot(e, path, true, tf)
	if err != nil {
		return nil, err
	}
	return r.TrustedRoot, nil
}

// signingTrustedRoot is the trusted root a signing command checks its bundles (and the
// services' answers) against: --trusted-root, else the trust envelope given as
// --signing-config (applySigningConfig sets f.trustedRoot to it), else an imported
// trust cache, else the TUF repository's, valid by TUF's rules or refreshed now. Never
// expired TUF trust nor the embedded snapshot: they may predate a key rotation, so a
// run against them would either fail late or trust a retired key. Keyless runs without
// --signing-config then follow the signing config that came with it. f.trustedRoot
// names the file used.
func signingTrustedRoot(e *env, f *signFlags) (*root.TrustedRoot, error) {
	r, err := resolveTrustedRoot(e, f.trustedRoot, false, &f.tuf)
	if err != nil {
		return nil, err
	}
	f.trustedRoot = r.Path
	if f.signingConfig == "" && f.key == "" && r.Origin != trust.FromFile && r.SigningConfig != nil {
		if err := f.follow(r.SigningConfig, time.Now(), e); err != nil {
			return nil, usagef("the signing config of %s: %v", trustSource(r), err)
		}
	}
	f.defaults()
	if err := f.checkLog(); err != nil {
		return nil, err
	}
	return r.TrustedRoot, nil
}

func trustSource(r *trust.Resolved) string {
	if r.Origin == trust.FromTUF {
		return "TUF repository " + r.Repository
	}
	return r.Dir
}

// resolveTrustedRoot resolves and, unless the root was named, says on stderr which one
// is used, and warns when it may be out of date (an annotation too, in Actions).
func resolveTrustedRoot(e *env, path string, verifying bool, tf *tufFlags) (*trust.Resolved, error) {
	o := trust.ResolveOptions{File: path, Dir: trust.DefaultDir(e.getenv), Embedded: verifying}
	if path == "" {
		var err error
		if o.TUF, o.TUFNamed, err = tf.options(e); err != nil {
			return nil, err
		}
	}
	r, err := trust.Resolve(o)
	if err != nil {
		return nil, explainTrust(err, path, verifying, o)
	}
	if !verifying && r.Stale {
		// Sign never signs with stale trust: a key Sigstore rotated since would make
		// a bundle that nobody can verify, or trust one it no longer should.
		return nil, usagef("the trust cache %s is stale (imported %s ago): signing needs current trust; import a newer `cachet trust export`, run `cachet trust refresh`, or pass --trusted-root", r.Dir, r.Age.Round(time.Hour))
	}
	notice, warning := r.Notice()
	if notice != "" {
		fmt.Fprintln(e.stderr, notice)
	}
	if warning != "" {
		if e.inActions() {
			// On stderr: stdout may be a JSON report.
			githubactions.New(githubactions.WithGetenv(e.getenv), githubactions.WithWriter(e.stderr)).Warningf("%s", warning)
		} else {
			fmt.Fprintln(e.stderr, "warning:", warning)
		}
	}
	return r, nil
}

// explainTrust adds the fix to a resolution that failed.
func explainTrust(err error, path string, verifying bool, o trust.ResolveOptions) error {
	const explicit = "pass --trusted-root FILE (a trusted_root.json or a `cachet trust export` file)"
	repo := o.TUF.RepositoryURL
	if repo == "" {
		repo = trust.PublicGoodRepository
	}
	switch {
	case path != "":
		return usagef("--trusted-root %s: %v", path, err)
	case errors.Is(err, trust.ErrNoCacheDir):
		return usagef("no trusted root: %v for the TUF cache, or %s", err, explicit)
	case errors.Is(err, trust.ErrCacheNotWritable):
		return usagef("%v: set %s to a writable directory, or %s", err, trust.DirEnv, explicit)
	case errors.Is(err, trust.ErrTUFUnreachable) && !verifying:
		return fmt.Errorf("no trusted root: %v, and the trust cache %s holds no valid copy of its trust; "+
			"signing never uses expired or embedded trust (a key may have been rotated or retired since): "+
			"make %s reachable (or name a reachable mirror with --tuf-url / %s), or %s and --signing-config for an air-gapped run",
			err, o.Dir, repo, tufURLEnv, explicit)
	case errors.Is(err, trust.ErrTUFUnreachable):
		return fmt.Errorf("no trusted root: %v, and the trust cache %s holds nothing of it: make it reachable, or %s", err, o.Dir, explicit)
	case errors.Is(err, trust.ErrTUFRefused):
		return fmt.Errorf("no trusted root: %v; check --tuf-url and --tuf-root (%s, %s), or %s", err, tufURLEnv, tufRootEnv, explicit)
	}
	return usagef("%v", err)
}

// registerSigningConfig adds --signing-config and the TUF flags (sign, attest, release).
func (f *signFlags) registerSigningConfig(fs *flag.FlagSet) {
	f.tuf.register(fs)
	fs.StringVar(&f.signingConfig, "signing-config", "", "Sigstore signing config v0.2 choosing Fulcio, Rekor and TSAs (validFor, majorApiVersion, selectors), or a cachet trust export file (which brings the trusted root too); default the TUF repository's (as cosign v3); --fulcio-url, --rekor-url and --timestamp-server-url given explicitly win")
}
