package main

import (
	"context"
	"errors"
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
	p, err := verify.PolicyForBundle(bundlePath, anyRef)
	var ve *verify.Error
	switch {
	case errors.Is(err, verify.ErrKeyBundle):
		return usagef("%s is a key-based bundle: verify it with --key", bundlePath)
	case errors.As(err, &ve):
		return usagef("%v", err)
	case err != nil:
		return err
	}
	tufURL, path, err := tf.names(e)
	if err != nil {
		return err
	}
	return report.WritePolicy(e.stdout, p, tufURL, path)
}
