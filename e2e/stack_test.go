// Package e2e runs cachet against the real local Sigstore stack (Fulcio, Rekor on
// Trillian and MariaDB, the Sigstore timestamp server) and checks its bundles with
// cosign and sigstore-js (e2e/sigstorejs). TestMain starts the stack through scripts/stack/up (idempotent; the first run
// on a machine builds the servers), so `go test ./...` needs nothing set up by hand.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stack holds the local stack's endpoints, read from the env file scripts/stack/up writes.
var stack map[string]string

// cachetBin is the cachet binary under test.
var cachetBin string

// policyDir is the signing-policy directory cachetBin was built with (policy.Dir): key
// mode reads policies only from there, as it reads /etc/cachet in a release build.
var policyDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if noCgo != "" {
		fmt.Fprintln(os.Stderr, noCgo)
		return 1
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	envFile := os.Getenv("CACHET_STACK_ENV")
	if envFile == "" {
		start := time.Now()
		cmd := exec.Command(filepath.Join(repo, "scripts/stack/up"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the local stack did not start (scripts/stack/up): %v\n", err)
			return 1
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		envFile = lines[len(lines)-1]
		fmt.Fprintf(os.Stderr, "e2e: stack ready in %s\n", time.Since(start).Round(time.Millisecond))
	}
	stack, err = readEnv(envFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "cachet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Others (the unprivileged-job tests) run cachetBin from here and read its policy dir.
	policyDir = filepath.Join(dir, "etc-cachet")
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Mkdir(policyDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cachetBin = filepath.Join(dir, "cachet")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/cachet-sign/cachet/policy.Dir="+policyDir, "-o", cachetBin, "./cmd/cachet")
	build.Dir = repo
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build cachet:", err)
		return 1
	}
	return m.Run()
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("stack env %s: %w", path, err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		m[k] = strings.Trim(v, "'")
	}
	for _, k := range []string{"CACHET_STACK_FULCIO_URL", "CACHET_STACK_REKOR_URL", "CACHET_STACK_TSA_URL", "CACHET_STACK_OIDC_ISSUER",
		"CACHET_STACK_TRUSTED_ROOT", "CACHET_STACK_COSIGN", "CACHET_STACK_TOKEN_URL", "CACHET_STACK_REQUEST_TOKEN_FILE"} {
		if m[k] == "" {
			return nil, fmt.Errorf("stack env %s lacks %s", path, k)
		}
	}
	return m, sc.Err()
}

// result is one finished command.
type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	return runAs(t, nil, dir, env, name, args...)
}

// runAs runs a command as the user cred names (nil: as the test itself).
func runAs(t *testing.T, cred *syscall.Credential, dir string, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = env
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return result{code, out.String(), errb.String()}
}

// jobEnv is the environment a GitHub job with `permissions: id-token: write` gives a step.
func jobEnv(t *testing.T, workspace string) []string {
	t.Helper()
	reqTok, err := os.ReadFile(stack["CACHET_STACK_REQUEST_TOKEN_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + workspace,
		"GITHUB_ACTIONS=true", "CI=true",
		"GITHUB_OUTPUT=" + filepath.Join(workspace, "github_output"),
		"GITHUB_STEP_SUMMARY=" + filepath.Join(workspace, "step_summary"),
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + stack["CACHET_STACK_TOKEN_URL"],
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + strings.TrimSpace(string(reqTok)),
	}
}

// stackFlags point cachet sign at the local stack.
func stackFlags() []string {
	return []string{
		"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"],
		"--rekor-url", stack["CACHET_STACK_REKOR_URL"],
		"--timestamp-server-url", stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp",
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
		"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
	}
}

// cosignVerify runs cosign verify-blob against the stack's trusted root with cosign's
// default checks: the certificate's SCT is checked against the stack's CT log.
func cosignVerify(t *testing.T, dir, bundle, identity, issuer, artifact string) result {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")}
	return run(t, dir, env, stack["CACHET_STACK_COSIGN"], "verify-blob", "--bundle", bundle,
		"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], "--certificate-identity", identity,
		"--certificate-oidc-issuer", issuer, artifact)
}
