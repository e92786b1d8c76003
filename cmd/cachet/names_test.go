package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/testnet"
)

// injected is a file name that, printed raw, starts workflow commands on new log lines.
const injected = "app\n::add-mask::hidden\n::stop-commands::x\n::warning::forged.tar.gz"

// commandLines returns the lines of out that the runner would read as workflow commands.
func commandLines(out string) []string {
	var cmds []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// TestNamesWithControlCharacters: an artifact, checksums entry or subject name holding a
// line break is refused before anything is signed, shown quoted; a skipped file's name is
// quoted too; no name ever starts a line of cachet's output (a workflow command).
func TestNamesWithControlCharacters(t *testing.T) {
	refusing := testnet.RefusingURL(t)
	dir := t.TempDir()
	art := filepath.Join(dir, injected)
	if err := os.WriteFile(art, []byte("payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe\n::warning::forged")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sums := filepath.Join(dir, "SHA256SUMS")
	if err := os.WriteFile(sums, []byte(strings.Repeat("ab", 32)+"  tool\x1b[2K\r::add-mask::x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trusted := filepath.Join(vectorsDir, "trusted_root.json")
	sign := []string{"sign", "--trusted-root", trusted, "--identity-token", "x", "--fulcio-url", refusing, "--rekor-url", refusing, "--timeout", "5s"}
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"sign, named", append(sign, art), `artifact "` + strings.ReplaceAll(art, "\n", `\n`)},
		{"sign, glob", append(sign, filepath.Join(dir, "app*")), `\n::add-mask::hidden`},
		{"sign, directory", append(sign, dir), `\n::add-mask::hidden`},
		{"sign, checksums entry", append(sign, "--checksums", sums, "--output-dir", dir), `--checksums entry "tool\x1b[2K\r::add-mask::x"`},
		{"attest, named", []string{"attest", "--trusted-root", trusted, "--identity-token", "x", art}, `\n::add-mask::hidden`},
		{"attest, checksums entry", []string{"attest", "--trusted-root", trusted, "--identity-token", "x", "--subject-checksums", sums}, `entry "tool\x1b`},
		{"attest, subject name", []string{"attest", "--trusted-root", trusted, "--identity-token", "x", "--subject-digest", "sha256:" + strings.Repeat("ab", 32), "--subject-name", "img\n::add-mask::x"}, `"img\n::add-mask::x"`},
		{"verify, glob", []string{"verify", "--trusted-root", trusted, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", filepath.Join(dir, "*")}, `\n::add-mask::hidden`},
		{"verify-bundle", []string{"verify-bundle", "--trusted-root", trusted, "--certificate-identity", "x", "--certificate-oidc-issuer", "y", art}, `\n::add-mask::hidden`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out")}
			code, out, errs := runCmdWithin(t, 30*time.Second, vars, tc.args...)
			if code != exitUsage || !strings.Contains(out+errs, "control character") || !strings.Contains(out+errs, tc.says) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, exitUsage, tc.says, out, errs)
			}
			for _, l := range commandLines(out + errs) {
				if !strings.HasPrefix(l, "::error") {
					t.Errorf("a name started a workflow command: %q", l)
				}
			}
			if entries, _ := filepath.Glob(filepath.Join(dir, "*.sigstore.json")); len(entries) > 0 {
				t.Fatalf("left bundles: %v", entries)
			}
		})
	}
}
