package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TestRun: a whole authority from files (a development chain, a state directory, an
// audit log) serves a token, stops when ctx ends, and leaves the serial mark behind.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDevChain(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	state, auditLog := filepath.Join(dir, "state"), filepath.Join(dir, "audit.jsonl")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, RunConfig{Key: filepath.Join(dir, "key.pem"), Chain: filepath.Join(dir, "chain.pem"), Policy: DefaultPolicy,
			StateDir: state, ReplicaID: 3, AuditLog: auditLog, Addr: "127.0.0.1:0", Grace: 5 * time.Second,
			Server: ServerOptions{MaxRequestSize: MaxRequestSize}, Stdout: &stdout, Stderr: &stderr})
		done <- err
	}()
	serving := regexp.MustCompile(`serving (http://\S+) \(policy \S+, replica 3\)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := serving.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("not serving: %s %s", stdout.String(), stderr.String())
	}
	sum := sha256.Sum256([]byte("signature"))
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if marks, _ := filepath.Glob(filepath.Join(state, "serial-r3*")); len(marks) == 0 {
		t.Error("no serial mark in the state directory")
	}
	if b, err := os.ReadFile(auditLog); err != nil || len(b) == 0 {
		t.Errorf("audit log: %q, %v", b, err)
	}
}

func TestRunRefusesBeforeServing(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		c    RunConfig
		key  bool // a *KeyError
	}{
		{"a PKCS#11 URI without a module", RunConfig{Key: "pkcs11:token=none;object=none"}, true},
		{"no key file", RunConfig{Key: filepath.Join(dir, "missing.pem")}, false},
	} {
		tc.c.Chain, tc.c.EphemeralSerials, tc.c.Grace = filepath.Join(dir, "chain.pem"), true, time.Second
		_, err := Run(t.Context(), tc.c)
		var ke *KeyError
		if err == nil || errors.As(err, &ke) != tc.key {
			t.Errorf("%s: err %v, key error %v", tc.name, err, tc.key)
		}
	}
}

// TestRunConfigCheck: what Run refuses before it opens anything, and the replica id
// ReplicaFromHost takes from the host name.
func TestRunConfigCheck(t *testing.T) {
	host := func(name string) func(string) string {
		return func(k string) string {
			if k == "HOSTNAME" {
				return name
			}
			return ""
		}
	}
	ok := RunConfig{Key: "key.pem", Chain: "chain.pem", StateDir: "state", Grace: time.Second}
	for _, tc := range []struct {
		name    string
		edit    func(c *RunConfig)
		err     error // nil: accepted, unless hostErr
		hostErr bool  // a *HostnameError
		replica int
	}{
		{"complete", func(c *RunConfig) {}, nil, false, 0},
		{"ephemeral serials, no state", func(c *RunConfig) { c.StateDir, c.EphemeralSerials = "", true }, nil, false, 0},
		{"no key", func(c *RunConfig) { c.Key = "" }, ErrNoKeyOrChain, false, 0},
		{"no chain", func(c *RunConfig) { c.Chain = "" }, ErrNoKeyOrChain, false, 0},
		{"no state", func(c *RunConfig) { c.StateDir = "" }, ErrNoState, false, 0},
		{"no grace", func(c *RunConfig) { c.Grace = 0 }, ErrShutdownTimes, false, 0},
		{"negative drain", func(c *RunConfig) { c.Drain = -time.Second }, ErrShutdownTimes, false, 0},
		{"replica from host", func(c *RunConfig) { c.ReplicaFromHost, c.Getenv = true, host("cachet-tsa-2") }, nil, false, 2},
		{"host without ordinal", func(c *RunConfig) { c.ReplicaFromHost, c.Getenv = true, host("cachet-tsa") }, nil, true, 0},
	} {
		c := ok
		tc.edit(&c)
		err := c.check()
		var he *HostnameError
		refused := tc.err != nil || tc.hostErr
		if (err != nil) != refused || (tc.err != nil && !errors.Is(err, tc.err)) || errors.As(err, &he) != tc.hostErr || c.ReplicaID != tc.replica {
			t.Errorf("%s: err %v, replica %d; want %v (host name error %v), replica %d", tc.name, err, c.ReplicaID, tc.err, tc.hostErr, tc.replica)
		}
	}
}

func TestHostOrdinal(t *testing.T) {
	for _, tc := range []struct {
		host string
		want int
		ok   bool
	}{
		{"cachet-tsa-2", 2, true},
		{"cachet-tsa-0", 0, true},
		{"cachet-tsa", 0, false},
		{"cachet-tsa-02", 0, false},
	} {
		got, err := HostOrdinal(func(k string) string {
			if k == "HOSTNAME" {
				return tc.host
			}
			return ""
		})
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("HostOrdinal(%q) = %d, %v", tc.host, got, err)
		}
	}
}
