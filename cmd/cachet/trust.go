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

	"github.com/cachet-sign/cachet/internal/cli"
	"github.com/cachet-sign/cachet/trust"
)

var trustCommands = []command{
	{Name: "export", Summary: "write a trusted root and a signing config as one file for an air-gapped machine:\n" +
		"           cachet trust export --trusted-root T [--signing-config S] --out FILE",
		Run: func(_ context.Context, args []string, e *env) error { return cmdTrustExport(args, e) }},
	{Name: "import", Summary: "unpack such a file into DIR/trusted_root.json and DIR/signing_config.v0.2.json:\n" +
		"           cachet trust import FILE [--dir DIR]",
		Run: func(_ context.Context, args []string, e *env) error { return cmdTrustImport(args, e) }},
	{Name: "refresh", Summary: "update DIR/trusted_root.json and DIR/signing_config.v0.2.json from a TUF repository\n" +
		"           (default: the Sigstore public-good one, trusted through sigstore-go's embedded TUF root):\n" +
		"           cachet trust refresh [--tuf-url URL [--tuf-root root.json]] [--cache DIR]",
		Run: func(_ context.Context, args []string, e *env) error { return cmdTrustRefresh(args, e) }},
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
	return cli.ParseInterspersed(fs, args, e.stdout, e.stderr, e.action().GetInput)
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
	env, err := trust.ExportFiles(trPath, scPath)
	var fe *trust.ExportFileError
	switch {
	case errors.As(err, &fe) && fe.SigningConfig:
		return usagef("--signing-config: %v", fe.Err)
	case errors.As(err, &fe):
		return usagef("--trusted-root: %v", fe.Err)
	case err != nil:
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
	paths, err := trust.ImportFile(pos[0], dir, time.Now())
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
	// go-tuf's fetcher takes no context: the HTTP timeout bounds each request.
	m, err := trust.Repository{URL: url, RootPath: rootPath}.Refresh(cache, &http.Client{Timeout: timeout})
	var rfe *trust.RootFileError
	switch {
	case errors.As(err, &rfe):
		return usagef("--tuf-root: %v", rfe.Err)
	case errors.Is(err, trust.ErrCacheNotWritable):
		return usagef("%v: pass --cache DIR or set %s to a writable directory", err, trust.DirEnv)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stderr, "TUF repository %s: metadata valid until %s\n", m.Repository, m.Expires.UTC().Format(time.RFC3339))
	fmt.Fprintln(e.stdout, filepath.Join(cache, trust.TrustedRootFile))
	if m.SigningConfig != nil {
		fmt.Fprintln(e.stdout, filepath.Join(cache, trust.SigningConfigFile))
	}
	return nil
}
