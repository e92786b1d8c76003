package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cachet-sign/cachet/trust"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const trustUsage = `usage: cachet trust <command> [flags]

commands:
  export   write a trusted root and a signing config as one file for an air-gapped machine:
           cachet trust export --trusted-root T [--signing-config S] --out FILE
  import   unpack such a file into DIR/trusted_root.json and DIR/signing_config.v0.2.json:
           cachet trust import FILE --dir DIR
  refresh  update DIR/trusted_root.json and DIR/signing_config.v0.2.json from a TUF repository:
           cachet trust refresh --tuf-url URL --tuf-root root.json --cache DIR

cachet sign --trusted-root/--signing-config and cachet verify --trusted-root also take the
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
	tr, err := os.ReadFile(trPath)
	if err != nil {
		return usagef("--trusted-root: %v", err)
	}
	var sc []byte
	if scPath != "" {
		if sc, err = os.ReadFile(scPath); err != nil {
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
	fs.StringVar(&dir, "dir", "", "directory for trusted_root.json and signing_config.v0.2.json (required)")
	pos, err := parseInterspersed(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) != 1 || dir == "" {
		return usagef("usage: cachet trust import FILE --dir DIR")
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
	fs.StringVar(&url, "tuf-url", "", "TUF repository base URL publishing trusted_root.json and signing_config.v0.2.json (required)")
	fs.StringVar(&rootPath, "tuf-root", "", "TUF root.json to trust first, distributed out of band (required)")
	fs.StringVar(&cache, "cache", "", "directory for the TUF metadata and the refreshed trusted_root.json and signing_config.v0.2.json (required)")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "time limit for each HTTP request")
	pos, err := parseInterspersed(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) > 0 || url == "" || rootPath == "" || cache == "" {
		return usagef("usage: cachet trust refresh --tuf-url URL --tuf-root root.json --cache DIR")
	}
	anchor, err := os.ReadFile(rootPath)
	if err != nil {
		return usagef("--tuf-root: %v", err)
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

// loadTrustedRoot reads --trusted-root: a trusted_root.json or a cachet trust envelope.
func loadTrustedRoot(path string) (*root.TrustedRoot, error) {
	m, err := trust.ReadFile(path)
	if err != nil {
		return nil, usagef("--trusted-root %s: %v", path, err)
	}
	if m.TrustedRoot == nil {
		return nil, usagef("--trusted-root %s holds a signing config, not a trusted root", path)
	}
	return m.TrustedRoot, nil
}
