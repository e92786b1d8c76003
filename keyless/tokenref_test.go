package keyless

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestToken: a token given inline or as @FILE (trimmed), an unreadable or oversized
// file refused as a *TokenFileError, and nothing given asks the runner.
func TestToken(t *testing.T) {
	dir := t.TempDir()
	file, big := filepath.Join(dir, "token"), filepath.Join(dir, "big")
	if err := os.WriteFile(file, []byte("  eyJ.file.sig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(strings.Repeat("x", MaxTokenFile+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		ref, want string
		fileErr   bool
		err       error
	}{
		{ref: " eyJ.inline.sig\n", want: "eyJ.inline.sig"},
		{ref: "@" + file, want: "eyJ.file.sig"},
		{ref: "@" + filepath.Join(dir, "missing"), fileErr: true},
		{ref: "@" + dir, fileErr: true},
		{ref: "@" + big, fileErr: true},
		{ref: "", err: ErrNoTokenPermission},
	} {
		got, err := Token(t.Context(), tc.ref, nil, noEnv)
		var tfe *TokenFileError
		switch {
		case tc.fileErr:
			if !errors.As(err, &tfe) {
				t.Errorf("Token(%.40q): err %v, want a *TokenFileError", tc.ref, err)
			}
		case tc.err != nil:
			if !errors.Is(err, tc.err) {
				t.Errorf("Token(%.40q): err %v, want %v", tc.ref, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("Token(%.40q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}
