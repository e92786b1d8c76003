package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenRefusalHints: the library says what is wrong with the token; cachet adds
// the flag that fixes it, and the run is still a refusal (exit 3).
func TestTokenRefusalHints(t *testing.T) {
	ws := t.TempDir()
	art := filepath.Join(ws, "app.bin")
	if err := os.WriteFile(art, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Unsigned: the issuer is compared before any key is fetched.
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://issuer.example"}`))
	otherIssuer := "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2ln"
	base := []string{"sign", "--trusted-root", vecRoot, "--audit-log", filepath.Join(ws, "audit.jsonl"), "--output-dir", ws}
	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"no token permission", nil, []string{"add `permissions: id-token: write` to the job (or pass --identity-token for local use)"}},
		{"another issuer", []string{"--identity-token", otherIssuer},
			[]string{`token issuer "https://issuer.example", configured "https://token.actions.githubusercontent.com"; set --oidc-issuer to the job's issuer`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, base...), tc.extra...), art)
			code, out, errs := runCmd(t, map[string]string{"HOME": t.TempDir()}, args...)
			if code != exitRefused {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitRefused, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}
