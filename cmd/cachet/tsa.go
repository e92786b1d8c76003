package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/tsa"
)

var tsaCommands = []command{
	{Name: "serve", Summary: "run an RFC 3161 timestamp authority over HTTP", Run: cmdTSAServe},
	{Name: "dev-chain", Summary: "write a development root CA, TSA certificate and key (never for production)",
		Run: func(_ context.Context, args []string, e *env) error { return cmdTSADevChain(args, e) }},
}

// cmdTSA runs the timestamp authority commands.
func cmdTSA(ctx context.Context, args []string, e *env) error {
	return dispatch(ctx, args, e, "cachet tsa", tsaCommands, "")
}

func cmdTSAServe(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("cachet tsa serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address; the chosen one is printed on stdout")
	keyFile := fs.String("key", "", "TSA private key: a PEM file (PKCS#8, EC or RSA) or a PKCS#11 URI (pkcs11:...; PIN from pin-source)")
	chainFile := fs.String("chain", "", "TSA certificate chain, PEM, leaf first, ending with the root")
	policy := fs.String("policy", tsa.DefaultPolicy.String(), "TSA policy OID of every token")
	state := fs.String("state", "", "directory for the serial number high-water mark (required unless --insecure-ephemeral-serials)")
	ephemeral := fs.Bool("insecure-ephemeral-serials", false, "without --state, derive serials from the clock (development only)")
	replica := fs.Int("replica-id", 0, "this replica's id, 0.."+strconv.Itoa(tsa.MaxReplicaID)+"; unique per replica behind one URL")
	fromHost := fs.Bool("replica-id-from-hostname", false, "take the replica id from the host name's ordinal suffix (a StatefulSet pod's cachet-tsa-2 is 2; $HOSTNAME, else the system's)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address at /metrics (off when empty)")
	drain := fs.Duration("shutdown-delay", 0, "on SIGTERM, report not ready on /readyz and keep serving this long before closing the listener (a load balancer's health-check interval)")
	grace := fs.Duration("shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	auditLog := fs.String("audit-log", "", "append one JSON line per token and refusal to this file")
	rateLimit := fs.Float64("rate-limit", 100, "requests per second per client IP; 0 disables")
	rateBurst := fs.Int("rate-burst", 200, "rate-limit bucket size per client IP")
	maxSize := fs.Int64("max-request-size", tsa.MaxRequestSize, "largest request body in bytes")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("cachet tsa serve: unexpected argument %q", fs.Arg(0))
	}
	if *keyFile == "" || *chainFile == "" {
		return usagef("cachet tsa serve: --key and --chain are required (make a development pair with 'cachet tsa dev-chain --out DIR')")
	}
	oid, err := tsa.ParseOID(*policy)
	if err != nil {
		return usagef("cachet tsa serve: --policy %q: %v", *policy, err)
	}
	if *state == "" && !*ephemeral {
		return usagef("cachet tsa serve: --state DIR is required so serial numbers never repeat across restarts")
	}
	if *fromHost {
		replicaSet := false
		fs.Visit(func(f *flag.Flag) { replicaSet = replicaSet || f.Name == "replica-id" })
		if replicaSet {
			return usagef("cachet tsa serve: give --replica-id or --replica-id-from-hostname, not both")
		}
		id, err := tsa.HostOrdinal(e.getenv)
		if err != nil {
			return usagef("cachet tsa serve: --replica-id-from-hostname: %v; pass --replica-id", err)
		}
		*replica = id
	}
	if *grace <= 0 || *drain < 0 {
		return usagef("cachet tsa serve: --shutdown-timeout must be positive and --shutdown-delay not negative")
	}
	// SIGTERM is how this command is meant to end: give it the time to drain and finish
	// what is in flight, and exit 0 when it did.
	e.grace.Extend(*drain + *grace + 2*time.Second)
	keyOpts := keys.Options{Getenv: e.getenv, Mask: func(s string) {
		if e.inActions() {
			e.action().AddMask(s)
		}
	}}
	stopAt, err := tsa.Run(ctx, tsa.RunConfig{
		Key: *keyFile, KeyOptions: keyOpts, Chain: *chainFile, Policy: oid,
		StateDir: *state, EphemeralSerials: *ephemeral, ReplicaID: *replica, AuditLog: *auditLog,
		Addr: *addr, MetricsAddr: *metricsAddr,
		Server: tsa.ServerOptions{MaxRequestSize: *maxSize, RateLimit: *rateLimit, RateBurst: *rateBurst},
		Drain:  *drain, Grace: *grace, TuneGC: e.getenv("GOGC") == "", Stdout: e.stdout, Stderr: e.stderr,
	})
	var ke *tsa.KeyError
	switch {
	case errors.As(err, &ke):
		return fmt.Errorf("cachet tsa serve: --key: %w", ke.Err)
	case errors.Is(err, tsa.ErrKeyMismatch):
		return fmt.Errorf("%w: check --key and --chain", err)
	case errors.Is(err, tsa.ErrSerialsLocked):
		return fmt.Errorf("%w (--replica-id, --state)", err)
	case errors.Is(err, tsa.ErrShutdownTimeout):
		return fmt.Errorf("%w (--shutdown-timeout %s)", err, *grace)
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
