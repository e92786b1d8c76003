package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/tsa"
)

func runTSA(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb}
	code := run(ctx, append([]string{"tsa"}, args...), e)
	return code, out.String(), errb.String()
}

// TestTSACommand: dev-chain writes a chain serve accepts; serve refuses bad flags (2)
// and a chain verifiers would refuse (1) before it listens.
func TestTSACommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runTSA(t, t.Context(), "dev-chain", "--out", dir); code != exitOK {
		t.Fatalf("dev-chain: exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v", fi, err)
	}
	chain, err := tsa.LoadChain(filepath.Join(dir, "chain.pem"))
	if err != nil || len(chain) != 2 {
		t.Fatalf("chain.pem: %d certs, %v", len(chain), err)
	}
	// root.pem alone is a chain whose "leaf" has no timeStamping EKU.
	key, chainF, rootF := filepath.Join(dir, "key.pem"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "root.pem")

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no subcommand", nil, exitUsage, "usage: cachet tsa"},
		{"unknown subcommand", []string{"sing"}, exitUsage, "unknown tsa command"},
		{"dev-chain without --out", []string{"dev-chain"}, exitUsage, "--out DIR"},
		{"serve without key", []string{"serve", "--chain", chainF, "--state", dir}, exitUsage, "--key and --chain"},
		{"serve without state", []string{"serve", "--key", key, "--chain", chainF}, exitUsage, "--state"},
		{"bad policy", []string{"serve", "--key", key, "--chain", chainF, "--state", dir, "--policy", "x.y"}, exitUsage, "--policy"},
		{"bad replica", []string{"serve", "--key", key, "--chain", chainF, "--state", dir, "--replica-id", "70000"}, exitFailure, "replica id"},
		{"missing EKU", []string{"serve", "--key", key, "--chain", rootF, "--state", dir}, exitFailure, "exactly one extended key usage"},
		{"both replica flags", []string{"serve", "--key", key, "--chain", chainF, "--state", dir, "--replica-id", "1", "--replica-id-from-hostname"}, exitUsage, "not both"},
		{"no shutdown time", []string{"serve", "--key", key, "--chain", chainF, "--state", dir, "--shutdown-timeout", "0s"}, exitUsage, "--shutdown-timeout"},
		{"missing key file", []string{"serve", "--key", filepath.Join(dir, "nope"), "--chain", chainF, "--state", dir}, exitFailure, "signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runTSA(t, t.Context(), tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, tc.code, stderr, tc.msg)
			}
		})
	}

	t.Run("serve starts and stops", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		code, stdout, stderr := runTSA(t, ctx, "serve", "--key", key, "--chain", chainF, "--state", filepath.Join(dir, "state"))
		if code != exitOK || !strings.Contains(stdout, "serving http://127.0.0.1:") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}
