//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/internal/testnet"
)

// TestMain lets a test run this binary as cachet itself (CACHET_TEST_MAIN=1), so
// signals reach the real main.
func TestMain(m *testing.M) {
	if os.Getenv("CACHET_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const vectorsDir = "../../testdata/verify"

// vectorPolicy is the policy the test vectors were signed under.
func vectorPolicy(t *testing.T) []string {
	t.Helper()
	var v struct{ Identity, Issuer, Repository string }
	b, err := os.ReadFile(filepath.Join(vectorsDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return []string{"--trusted-root", filepath.Join(vectorsDir, "trusted_root.json"),
		"--certificate-identity", v.Identity, "--certificate-oidc-issuer", v.Issuer, "--repository", v.Repository, "--allow-self-hosted"}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCmdWithin is runCmd failing the test when the command is not done in d.
func runCmdWithin(t *testing.T, d time.Duration, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	type res struct {
		code     int
		out, err string
	}
	ch := make(chan res, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(t.Context(), args, &env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errb})
		ch <- res{code, out.String(), errb.String()}
	}()
	select {
	case r := <-ch:
		return r.code, r.out, r.err
	case <-time.After(d):
		t.Fatalf("cachet %s still running after %s", strings.Join(args, " "), d)
	}
	return 0, "", ""
}

// sparse makes a file of n zero bytes that takes no disk: endless enough to hash.
func sparse(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(n); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestVerifyGlobTakesRegularFilesOnly: 'dir/*' over an artifact, its bundle, a FIFO,
// a link to /dev/zero and a link to a file outside the tree verifies the artifact
// alone, promptly (the FIFO used to block forever, the link to hash forever), and says
// what it skipped; the bundle beside its artifact is no artifact.
func TestVerifyGlobTakesRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(vectorsDir, "artifact.txt"), filepath.Join(dir, "artifact.txt"))
	copyFile(t, filepath.Join(vectorsDir, "artifact.txt.cachet.sigstore.json"), filepath.Join(dir, "artifact.txt.sigstore.json"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "outside"))
	args := append([]string{"verify", "--output", "json"}, vectorPolicy(t)...)
	code, out, errs := runCmdWithin(t, 10*time.Second, nil, append(args, filepath.Join(dir, "*"))...)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	var rep report.Verification
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Name != filepath.Join(dir, "artifact.txt") || rep.Verified != 1 {
		t.Fatalf("results %+v, want artifact.txt alone, verified", rep.Results)
	}
	for _, want := range []string{"skipped " + filepath.Join(dir, "fifo") + ": a FIFO", "skipped " + filepath.Join(dir, "zero") + ": a symbolic link",
		"skipped " + filepath.Join(dir, "outside") + ": a symbolic link"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "artifact.txt.sigstore.json") {
		t.Errorf("stderr mentions the bundle, expected beside its artifact:\n%s", errs)
	}
}

// TestVerifyRefusesNamedSpecialFiles: a FIFO or a link to a device named as an
// artifact is a usage error at once, not a read that never ends.
func TestVerifyRefusesNamedSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", zero)
	for p, kind := range map[string]string{fifo: "a FIFO", zero: "a character device"} {
		code, _, errs := runCmdWithin(t, 10*time.Second, nil, append(append([]string{"verify"}, vectorPolicy(t)...), p)...)
		if code != exitUsage || !strings.Contains(errs, p+" is "+kind+": only regular files are artifacts") {
			t.Errorf("verify %s: exit %d, stderr %s", p, code, errs)
		}
	}
}

// TestVerifyNeverQuotesTheBundle: a bundle path that is a link to a token file makes a
// FAIL whose line, annotation, summary and report hold nothing of the token.
func TestVerifyNeverQuotesTheBundle(t *testing.T) {
	dir := t.TempDir()
	const token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJTRUNSRVQifQ.SECRETsignature"
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(token+"\n"), 0o600)
	art := filepath.Join(dir, "artifact.txt")
	copyFile(t, filepath.Join(vectorsDir, "artifact.txt"), art)
	os.Symlink(tokFile, art+".sigstore.json")
	summary := filepath.Join(dir, "summary.md")
	os.WriteFile(summary, nil, 0o644)
	runnerTemp := t.TempDir()
	vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "RUNNER_TEMP": runnerTemp}
	code, out, errs := runCmdWithin(t, 10*time.Second, vars, append(append([]string{"verify"}, vectorPolicy(t)...), art)...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailure, out, errs)
	}
	rep, _ := os.ReadFile(filepath.Join(runnerTemp, "cachet-verify-report.json"))
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(rep), "not a valid Sigstore bundle: invalid JSON") {
		t.Fatalf("report does not say why: %s", rep)
	}
	for name, s := range map[string]string{"stdout": out, "stderr": errs, "report": string(rep), "summary": string(sum)} {
		for _, part := range []string{"eyJ", "SECRET", "signature"} {
			if strings.Contains(s, part) {
				t.Errorf("%s quotes the token (%q):\n%s", name, part, s)
			}
		}
	}
}

// TestSignGlobSkipsSymlinks: a glob that matches a link to a file outside the tree
// does not sign that file (a directory walk does not follow links either); named
// explicitly, a link is followed.
func TestSignGlobSkipsSymlinks(t *testing.T) {
	refusing := testnet.RefusingURL(t)
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("secret outside the tree"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(outside, link)
	base := []string{"sign", "--trusted-root", filepath.Join(vectorsDir, "trusted_root.json"), "--identity-token", "x",
		"--fulcio-url", refusing, "--rekor-url", refusing, "--timeout", "5s"}
	code, _, errs := runCmdWithin(t, 30*time.Second, nil, append(base, filepath.Join(dir, "*"))...)
	if code != exitUsage || !strings.Contains(errs, "skipped "+link+": a symbolic link") || !strings.Contains(errs, "matches no regular file") {
		t.Fatalf("sign 'dir/*' over a link: exit %d, stderr %s", code, errs)
	}
	// Named, the link is followed: planning passes and the run reaches the network
	// (which fails here), not a usage error.
	code, _, errs = runCmdWithin(t, 30*time.Second, nil, append(base, link)...)
	if code == exitUsage {
		t.Fatalf("sign LINK: usage error %s", errs)
	}
}

// TestSignRefusesSpecialInputs: a FIFO as checksums file or identity-token file, or
// /dev/zero, is refused at once.
func TestSignRefusesSpecialInputs(t *testing.T) {
	refusing := testnet.RefusingURL(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"sign", "--trusted-root", filepath.Join(vectorsDir, "trusted_root.json"),
		"--fulcio-url", refusing, "--rekor-url", refusing, "--timeout", "5s"}
	for _, args := range [][]string{
		{"--identity-token", "x", "--checksums", fifo},
		{"--identity-token", "x", "--checksums", "/dev/zero"},
		{"--identity-token", "@" + fifo, "--output-dir", dir, filepath.Join(vectorsDir, "artifact.txt")},
		{"--identity-token", "@/dev/zero", "--output-dir", dir, filepath.Join(vectorsDir, "artifact.txt")},
	} {
		code, _, errs := runCmdWithin(t, 10*time.Second, nil, append(base, args...)...)
		if code != exitUsage || !strings.Contains(errs, "not a regular file") {
			t.Errorf("sign %v: exit %d, stderr %s", args, code, errs)
		}
	}
}

// TestInterruptEndsVerify: SIGTERM or SIGINT during a long hash (a 1 TiB sparse file,
// minutes of reading) ends cachet verify within a second, saying so, with 128+signal.
func TestInterruptEndsVerify(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	sparse(t, big, 1<<40)
	copyFile(t, filepath.Join(vectorsDir, "artifact.txt.cachet.sigstore.json"), big+".sigstore.json")
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "SIGTERM", 143}, {syscall.SIGINT, "SIGINT", 130}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append(append([]string{"verify"}, vectorPolicy(t)...), big)...)
			cmd.Env = append(os.Environ(), "CACHET_TEST_MAIN=1", "GITHUB_ACTIONS=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond) // well into the hash
			sent := time.Now()
			cmd.Process.Signal(tc.sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after %s", tc.name)
			}
			took := time.Since(sent)
			// The command gives up after interruptGrace (800 ms); 2 s leaves room for a
			// loaded CI machine's scheduler without letting a hang pass.
			if took > 2*time.Second {
				t.Errorf("exited %s after %s, want within 1 s (2 s allowed for scheduling)", took, tc.name)
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d; stderr %s", got, tc.code, &stderr)
			}
			if want := "cachet: interrupted (" + tc.name + ")"; !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, &stderr)
			}
			t.Logf("%s: exited %s after the signal", tc.name, took)
		})
	}
}
