package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cachet-sign/cachet/keys"
	"github.com/sethvargo/go-githubactions"
)

var keyCommands = []command{
	{Name: "public", Summary: "print a key's PEM public key (stdout) and key id (stderr): cachet key public --key PKCS11-URI|FILE", Run: cmdKeyPublic},
}

func cmdKey(ctx context.Context, args []string, e *env) error {
	return dispatch(ctx, args, e, "cachet key", keyCommands, "")
}

// cmdKeyPublic is `cachet key public --key REF`: the PEM public key on stdout, its key id
// (the bundle's publicKey.hint, the policy's key-id) on stderr.
func cmdKeyPublic(_ context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("cachet key public", flag.ContinueOnError)
	ref := fs.String("key", "", "PKCS#11 URI or PEM private key file")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *ref == "" {
		return usagef("cachet key public needs --key PKCS11-URI|FILE")
	}
	opts := keys.Options{Getenv: e.getenv}
	if e.inActions() {
		// The runner reads workflow commands on stderr too; stdout stays the bare PEM
		// so `cachet key public ... > key.pub` is a valid key file.
		opts.Mask = githubactions.New(githubactions.WithGetenv(e.getenv), githubactions.WithWriter(e.stderr)).AddMask
	}
	k, err := keys.Open(*ref, opts)
	if err != nil {
		if errors.Is(err, keys.ErrURI) || errors.Is(err, keys.ErrNoPKCS11) || errors.Is(err, keys.ErrPINSource) {
			return usagef("--key: %v", err)
		}
		return fmt.Errorf("--key: %w", err)
	}
	defer k.Close()
	pem, err := k.PublicPEM()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "key id: %s\n", k.ID)
	_, err = e.stdout.Write(pem)
	return err
}
