package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/tsa"
)

var tsaCommands = []command{
	{Name: "serve", Summary: "run an RFC 3161 timestamp authority over HTTP", Run: cmdTSAServe},
	{Name: "dev-chain", Summary: "write a development root CA, TSA certificate and key (never for production)",
		Run: func(_ context.Context, args []string, e *env) error { return cmdTSADevChain(args, e) }},
}

func cmdTSA(ctx context.Context, args []string, e *env) error {
	return dispatch(ctx, args, e, "cachet tsa", tsaCommands, "")
}

func cmdTSAServe(ctx context.Context, args []string, e *env) error {
	c := tsa.RunConfig{Getenv: e.getenv, TuneGC: e.getenv("GOGC") == "", Stdout: e.stdout, Stderr: e.stderr}
	fs := flag.NewFlagSet("cachet tsa serve", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:0", "listen address; the chosen one is printed on stdout")
	fs.StringVar(&c.Key, "key", "", "TSA private key: a PEM file (PKCS#8, EC or RSA) or a PKCS#11 URI (pkcs11:...; PIN from pin-source)")
	fs.StringVar(&c.Chain, "chain", "", "TSA certificate chain, PEM, leaf first, ending with the root")
	policy := fs.String("policy", tsa.DefaultPolicy.String(), "TSA policy OID of every token")
	fs.StringVar(&c.StateDir, "state", "", "directory for the serial number high-water mark (required unless --insecure-ephemeral-serials)")
	fs.BoolVar(&c.EphemeralSerials, "insecure-ephemeral-serials", false, "without --state, derive serials from the clock (development only)")
	fs.IntVar(&c.ReplicaID, "replica-id", 0, "this replica's id, 0.."+strconv.Itoa(tsa.MaxReplicaID)+"; unique per replica behind one URL")
	fs.BoolVar(&c.ReplicaFromHost, "replica-id-from-hostname", false, "take the replica id from the host name's ordinal suffix (a StatefulSet pod's cachet-tsa-2 is 2; $HOSTNAME, else the system's)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address at /metrics (off when empty)")
	fs.DurationVar(&c.Drain, "shutdown-delay", 0, "on SIGTERM, report not ready on /readyz and keep serving this long before closing the listener (a load balancer's health-check interval)")
	fs.DurationVar(&c.Grace, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	fs.StringVar(&c.AuditLog, "audit-log", "", "append one JSON line per token and refusal to this file")
	fs.Float64Var(&c.Server.RateLimit, "rate-limit", 100, "requests per second per client IP; 0 disables")
	fs.IntVar(&c.Server.RateBurst, "rate-burst", 200, "rate-limit bucket size per client IP")
	fs.Int64Var(&c.Server.MaxRequestSize, "max-request-size", tsa.MaxRequestSize, "largest request body in bytes")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("cachet tsa serve: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.Policy, err = tsa.ParseOID(*policy); err != nil {
		return usagef("cachet tsa serve: --policy %q: %v", *policy, err)
	}
	if c.ReplicaFromHost && inputs.Given(fs)["replica-id"] {
		return usagef("cachet tsa serve: give --replica-id or --replica-id-from-hostname, not both")
	}
	c.KeyOptions = keys.Options{Getenv: e.getenv, Mask: e.mask()}
	// SIGTERM is how this command is meant to end: give it the time to drain and finish
	// what is in flight, and exit 0 when it did.
	e.grace.Extend(c.Drain + c.Grace + 2*time.Second)
	stopAt, err := tsa.Run(ctx, c)
	var he *tsa.HostnameError
	var ke *tsa.KeyError
	switch {
	case errors.Is(err, tsa.ErrNoKeyOrChain):
		return usagef("cachet tsa serve: --key and --chain are required (make a development pair with 'cachet tsa dev-chain --out DIR')")
	case errors.Is(err, tsa.ErrNoState):
		return usagef("cachet tsa serve: --state DIR is required so serial numbers never repeat across restarts")
	case errors.Is(err, tsa.ErrShutdownTimes):
		return usagef("cachet tsa serve: --shutdown-timeout must be positive and --shutdown-delay not negative")
	case errors.As(err, &he):
		return usagef("cachet tsa serve: --replica-id-from-hostname: %v; pass --replica-id", he.Err)
	case errors.As(err, &ke):
		return fmt.Errorf("cachet tsa serve: --key: %w", ke.Err)
	case errors.Is(err, tsa.ErrKeyMismatch):
		return fmt.Errorf("%w: check --key and --chain", err)
	case errors.Is(err, tsa.ErrSerialsLocked):
		return fmt.Errorf("%w (--replica-id, --state)", err)
	case errors.Is(err, tsa.ErrShutdownTimeout):
		return fmt.Errorf("%w (--shutdown-timeout %s)", err, c.Grace)
	case err != nil:
		return err
	}
	e.grace.StoppedCleanly()
	fmt.Fprintf(e.stderr, "cachet tsa: stopped in %s; every request in flight was answered\n", time.Since(stopAt).Round(time.Millisecond))
	return nil
}

func cmdTSADevChain(args []string, e *env) error {
	fs := flag.NewFlagSet("cachet tsa dev-chain", flag.ContinueOnError)
	out := fs.String("out", "", "directory for root.pem, chain.pem, cert.pem and key.pem")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usagef("usage: cachet tsa dev-chain --out DIR")
	}
	d, err := tsa.NewDevChain(nil, time.Now())
	if err != nil {
		return err
	}
	if err := d.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cachet tsa: development chain in %s (key.pem, chain.pem, root.pem); never trust it outside tests\n", filepath.Clean(*out))
	return nil
}
