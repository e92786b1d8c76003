package main

import (
	"context"
	"flag"

	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/verify"
)

// cmdPolicy prints, for a bundle cachet (or cosign) made, the policy a consumer should
// pin and the exact commands that check it: the identity as an anchored regexp that
// allows any ref of the same workflow only when asked, the issuer, and the repository's
// numeric id, which survives renames and is not reusable by a squatter.
func cmdPolicy(ctx context.Context, args []string, e *env) error {
	var bundlePath string
	var anyRef bool
	fs := flag.NewFlagSet("cachet policy", flag.ContinueOnError)
	fs.StringVar(&bundlePath, "bundle", "", "a bundle of what was signed")
	fs.BoolVar(&anyRef, "any-ref", false, "accept the same workflow at any ref (for releases from tags)")
	var tf tufFlags
	tf.register(fs) // named in the printed commands: where the verifier's trust comes from
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if bundlePath == "" {
		return usagef("--bundle is required")
	}
	b, err := verify.LoadBundle(bundlePath)
	if err != nil {
		return usagef("%v", err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return usagef("%s: %v", bundlePath, err)
	}
	cert := vc.Certificate()
	if cert == nil {
		return usagef("%s is a key-based bundle: verify it with --key", bundlePath)
	}
	p, err := verify.PolicyFor(cert, anyRef)
	if err != nil {
		return err
	}
	tufURL, path, err := tf.names(e)
	if err != nil {
		return err
	}
	return report.WritePolicy(e.stdout, p, tufURL, path)
}
