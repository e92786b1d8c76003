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

const trustUsage = `usage: cachet trust <command> [flags]

commands:
  export   write a trusted root and a signing config as one file for an air-gapped machine:
           cachet trust export --trusted-root T [--signing-config S] --out FILE
  import   unpack such a file into DIR/trusted_root.json and DIR/signing_config.v0.2.json:
           cachet trust import FILE [--dir DIR]
  refresh  update DIR/trusted_root.json and DIR/signing_config.v0.2.json from a TUF repository
           (default: the Sigstore public-good one, trusted through sigstore-go's embedded TUF root):
           cachet trust refresh [--tuf-url URL [--tuf-root root.json]] [--cache DIR]

DIR defaults to the trust cache: $CACHET_TRUST_DIR, else $XDG_CACHE_HOME/cachet/trust, else
$HOME/.cache/cachet/trust. Without --trusted-root, cachet verify uses the trust cache (and warns
when it is more than 7 days old), else the embedded public-good snapshot; cachet sign, attest and
release use the trust cache, never the snapshot. --trusted-root and --signing-config also take the
exported file directly.`

func cmdTrust(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usagef("%s", trustUsage)
	}
	switch args[0] {
	case "export":
		return cmdTrustExport(args[1:], e)
	case "import":
		return cmdTrustImport(args[1:], e)
	case "refresh":
		return cmdTrustRefresh(args[1:], e)
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, trustUsage)
		return nil
	}
	return usagef("unknown trust command %q\n%s", args[0], trustUsage)
}

// parseInterspersed parses flags given before or after the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string, e *env) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, e.action(), e.stderr); err != nil {
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
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, filepath.Join(cache, trust.TrustedRootFile))
	if m.SigningConfig != nil {
		fmt.Fprintln(e.stdout, filepath.Join(cache, trust.SigningConfigFile))
	}
	return nil
}

// verifyTrustedRoot is the trusted root verify and verify-bundle use: --trusted-root (a
// trusted_root.json or a cachet trust envelope), else the trust cache, else the
// embedded public-good snapshot. Verification stays offline in every case.
func verifyTrustedRoot(e *env, path string) (*root.TrustedRoot, error) {
	r, err := resolveTrustedRoot(e, path, true)
	if err != nil {
		return nil, err
	}
	return r.TrustedRoot, nil
}

// signingTrustedRoot is the trusted root a signing command checks its bundles (and the
// services' answers) against: --trusted-root, else the trust envelope given as
// --signing-config (applySigningConfig sets f.trustedRoot to it), else the trust cache
// (a warning when stale). Never the embedded snapshot: it predates the services'
// current keys, and cannot know of a key retired since, so a run against it would
// either fail late or trust a retired key. f.trustedRoot names the file used.
func signingTrustedRoot(e *env, f *signFlags) (*root.TrustedRoot, error) {
	r, err := resolveTrustedRoot(e, f.trustedRoot, false)
	if errors.Is(err, trust.ErrNoTrustedRoot) {
		dir := trust.DefaultDir(e.getenv)
		if dir == "" {
			dir = "none: set " + trust.DirEnv + " or HOME"
		}
		return nil, usagef("no trusted root: pass --trusted-root FILE (trusted_root.json or a cachet trust export file), "+
			"--signing-config with a cachet trust export file, or run `cachet trust refresh` to fill the trust cache (%s); "+
			"signing does not fall back to the embedded public-good snapshot, which predates the services' current keys", dir)
	}
	if err != nil {
		return nil, err
	}
	f.trustedRoot = r.Path
	return r.TrustedRoot, nil
}

// resolveTrustedRoot resolves and, unless the root was named, says on stderr which one
// is used and warns when the cache is stale (an annotation too, in Actions).
func resolveTrustedRoot(e *env, path string, embedded bool) (*trust.Resolved, error) {
	r, err := trust.Resolve(trust.ResolveOptions{File: path, Dir: trust.DefaultDir(e.getenv), Embedded: embedded})
	switch {
	case err != nil && path != "":
		return nil, usagef("--trusted-root %s: %v", path, err)
	case errors.Is(err, trust.ErrNoTrustedRoot):
		return nil, err
	case err != nil:
		return nil, usagef("%v", err)
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

// registerSigningConfig adds --signing-config (sign, attest, release).
func (f *signFlags) registerSigningConfig(fs *flag.FlagSet) {
	fs.StringVar(&f.signingConfig, "signing-config", "", "Sigstore signing config v0.2 choosing Fulcio, Rekor and TSAs (validFor, majorApiVersion, selectors), or a cachet trust export file (which brings the trusted root too); --fulcio-url, --rekor-url and --timestamp-server-url given explicitly win")
}
