package tsa

import (
	"context"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keys"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// RunConfig is a whole timestamp authority process, as `cachet tsa serve` runs it:
// the key and chain, the serial state, the audit log, metrics, and the HTTP service.
type RunConfig struct {
	// Key is a PEM private key file (LoadSigner) or a PKCS#11 URI (keys.Open with
	// KeyOptions: the PIN comes from the URI's pin-source and is passed to its Mask).
	Key        string
	KeyOptions keys.Options
	// Chain is the TSA certificate chain, PEM, leaf first, ending with the root.
	Chain  string
	Policy asn1.ObjectIdentifier
	// Serials: the state directory (required unless EphemeralSerials) and the replica,
	// ReplicaID or, with ReplicaFromHost, the host name's (HostOrdinal with Getenv,
	// os.Getenv when nil).
	StateDir         string
	EphemeralSerials bool
	ReplicaID        int
	ReplicaFromHost  bool
	Getenv           func(string) string
	// AuditLog, when set, is a file that gets one JSON line per token and refusal.
	AuditLog string
	// Addr and MetricsAddr are the listen addresses (metrics off when empty);
	// Server's MaxRequestSize, RateLimit and RateBurst limit the handler (its Audit
	// and Metrics are set here, Ready by Serve).
	Addr, MetricsAddr string
	Server            ServerOptions
	Drain, Grace      time.Duration
	// TuneGC sets GOGC 400 for the process (the caller leaves it false when GOGC is
	// set): the live heap is a few MiB, so the default collects every few hundred
	// tokens; at 400 the collector's share of a token's CPU drops by about a third
	// (bench/tsa) for a heap that stays under ~50 MiB.
	TuneGC         bool
	Stdout, Stderr io.Writer
}

// A RunConfig Run refuses before it opens anything; callers add the names of their
// own settings.
var (
	// ErrNoKeyOrChain: Key or Chain is empty.
	ErrNoKeyOrChain = errors.New("tsa: a signing key and a certificate chain are required")
	// ErrNoState: no StateDir, and not EphemeralSerials.
	ErrNoState = errors.New("tsa: a state directory is required so serial numbers never repeat across restarts")
	// ErrShutdownTimes: Grace is not positive (requests in flight would be cut off at
	// once) or Drain is negative.
	ErrShutdownTimes = errors.New("tsa: the shutdown grace must be positive and the drain not negative")
)

// HostnameError is a ReplicaFromHost whose host name gives no replica id.
type HostnameError struct{ Err error }

func (e *HostnameError) Error() string { return "tsa: replica id from the host name: " + e.Err.Error() }
func (e *HostnameError) Unwrap() error { return e.Err }

// KeyError is a key RunConfig.Key names that could not be opened.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Run opens what c names, serves until ctx ends, stops as Serve does and closes the
// serial state durably. It returns the time the stop began; an error closing the
// serial state is one too, since the next start relies on the mark it wrote.
func Run(ctx context.Context, c RunConfig) (stopAt time.Time, err error) {
	if err := c.check(); err != nil {
		return time.Time{}, err
	}
	var signer crypto.Signer
	if keys.IsURI(c.Key) {
		// An HSM key: the PIN comes from the URI's pin-source, is masked, and never
		// reaches a log.
		k, err := keys.Open(c.Key, c.KeyOptions)
		if err != nil {
			return time.Time{}, &KeyError{err}
		}
		defer k.Close()
		signer = k.Signer
	} else if signer, err = LoadSigner(c.Key); err != nil {
		return time.Time{}, err
	}
	chain, err := LoadChain(c.Chain)
	if err != nil {
		return time.Time{}, err
	}
	var logger *audit.Logger
	if c.AuditLog != "" {
		f, err := os.OpenFile(c.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return time.Time{}, fmt.Errorf("audit log: %w", err)
		}
		defer f.Close()
		logger = &audit.Logger{W: f}
	}
	var metrics *Metrics
	reg := prometheus.NewRegistry()
	if c.MetricsAddr != "" {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if metrics, err = NewMetrics(reg); err != nil {
			return time.Time{}, err
		}
	}
	serials, err := OpenSerials(SerialOptions{Dir: c.StateDir, ReplicaID: c.ReplicaID, Ephemeral: c.EphemeralSerials, Reserved: metrics.Reserved})
	if err != nil {
		return time.Time{}, err
	}
	closed := false
	defer func() {
		if !closed {
			serials.Close()
		}
	}()
	a, err := NewAuthority(Config{Signer: signer, Chain: chain, Policy: c.Policy, Serials: serials, Audit: logger})
	if err != nil {
		return time.Time{}, err
	}
	if c.TuneGC {
		debug.SetGCPercent(400)
	}
	PretouchHeap(16 << 20)
	so := c.Server
	so.Audit, so.Metrics = logger, metrics
	stopAt, err = Serve(ctx, a, ServeOptions{
		Addr: c.Addr, MetricsAddr: c.MetricsAddr, Metrics: reg, Server: so,
		Drain: c.Drain, Grace: c.Grace, Replica: c.ReplicaID, Stdout: c.Stdout, Stderr: c.Stderr,
	})
	if err != nil {
		return stopAt, err
	}
	closed = true
	if err := serials.Close(); err != nil {
		return stopAt, fmt.Errorf("serial state: %w", err)
	}
	return stopAt, nil
}

// check refuses what Run cannot run safely (ErrNoKeyOrChain, ErrNoState,
// ErrShutdownTimes, HostnameError) and sets ReplicaID from the host name when
// ReplicaFromHost.
func (c *RunConfig) check() error {
	switch {
	case c.Key == "" || c.Chain == "":
		return ErrNoKeyOrChain
	case c.StateDir == "" && !c.EphemeralSerials:
		return ErrNoState
	case c.Grace <= 0 || c.Drain < 0:
		return ErrShutdownTimes
	case !c.ReplicaFromHost:
		return nil
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	id, err := HostOrdinal(getenv)
	if err != nil {
		return &HostnameError{err}
	}
	c.ReplicaID = id
	return nil
}

// HostOrdinal is the replica id a StatefulSet pod's host name gives (Ordinal): the
// name is $HOSTNAME (getenv), else the system's.
func HostOrdinal(getenv func(string) string) (int, error) {
	host := getenv("HOSTNAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	return Ordinal(host)
}
