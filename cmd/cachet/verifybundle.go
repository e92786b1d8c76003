package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/verify"
)

// cmdVerifyBundle verifies one artifact against one bundle, with cosign verify-blob's
// flags and as the sigstore-conformance client protocol asks (docs/cli_protocol.md):
//
//	verify-bundle --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key K) [--trusted-root T] FILE_OR_DIGEST
//
// A DSSE bundle verifies when the artifact is one of its statement's subjects, whatever
// the predicate type, unless --type (or the policy file) names one.
func cmdVerifyBundle(ctx context.Context, args []string, e *env) error {
	var pf policyFlags
	var bundle string
	fs := flag.NewFlagSet("cachet verify-bundle", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cachet verify-bundle --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key K) [--trusted-root T] [flags] FILE_OR_sha256:HEX\n\n")
		fs.PrintDefaults()
	}
	pf.register(fs)
	fs.StringVar(&bundle, "bundle", "", "bundle file (default ARTIFACT.sigstore.json)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("verify-bundle takes one artifact (a path or sha256:HEX), got %d", fs.NArg())
	}
	p, tm, err := pf.build(fs, e)
	if err != nil {
		return err
	}
	// As cosign verify-blob: any predicate type unless --type; a certificate without a
	// runner environment is judged by identity and issuer alone.
	p.AsVerifyBlob()
	if err := checkName("artifact", fs.Arg(0)); err != nil {
		return err
	}
	s, err := verify.BundleSubject(fs.Arg(0), bundle)
	if err != nil {
		return usagef("%v", err)
	}
	v, err := verify.New(tm, p)
	if err != nil {
		return usagef("%v", err)
	}
	r := v.Verify(ctx, s)
	if !r.Verified {
		return fmt.Errorf("%s: not verified: %s", r.Name, r.Error)
	}
	fmt.Fprintf(e.stdout, "Verified OK: %s\n", report.Describe(r))
	return nil
}
