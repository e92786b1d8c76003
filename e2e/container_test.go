package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// actionMeta is action.yml as cachet writes it: every key the file may have, so that
// readAction can refuse any other (a misspelt or unsupported key the runner would
// ignore). Keys of the action metadata syntax cachet does not use are left out on
// purpose: adding one means modelling it here.
type actionMeta struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Author      string `json:"author"`
	Branding    struct {
		Icon  string `json:"icon"`
		Color string `json:"color"`
	} `json:"branding"`
	Inputs map[string]struct {
		Description string  `json:"description"`
		Required    bool    `json:"required"`
		Default     *string `json:"default"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Description string `json:"description"`
	} `json:"outputs"`
	Runs struct {
		Using string   `json:"using"`
		Image string   `json:"image"`
		Args  []string `json:"args"`
	} `json:"runs"`
}

func readAction(t *testing.T, path string) actionMeta {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m actionMeta
	if err := yaml.UnmarshalStrict(b, &m, yaml.DisallowUnknownFields); err != nil {
		t.Fatalf("%s: %v (a key actionMeta does not model: the runner may ignore it)", path, err)
	}
	return m
}

// flagNames lists the flags a cachet subcommand declares, from its -h output.
func flagNames(t *testing.T, sub string) map[string]bool {
	t.Helper()
	r := run(t, "", []string{"PATH=" + os.Getenv("PATH")}, cachetBin, sub, "-h")
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(r.stderr+r.stdout, -1) {
		names[m[1]] = true
	}
	if len(names) < 5 {
		t.Fatalf("cachet %s -h listed no flags: %s", sub, r.stderr)
	}
	return names
}

// TestActionMetadata: both actions have the keys the runner needs, every input is
// documented with a default (or required), and every input is a flag of the command
// the action runs, so no input is silently ignored.
func TestActionMetadata(t *testing.T) {
	for _, tc := range []struct{ path, sub string }{{"../action.yml", "sign"}, {"../verify/action.yml", "verify"}, {"../attest/action.yml", "attest"}} {
		m := readAction(t, tc.path)
		if m.Name == "" || m.Description == "" || m.Author == "" || m.Branding.Icon == "" || m.Branding.Color == "" ||
			m.Runs.Using != "docker" || m.Runs.Image != "Dockerfile" || len(m.Runs.Args) != 1 || m.Runs.Args[0] != tc.sub {
			t.Fatalf("%s: runs/name/description: %+v", tc.path, m)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(tc.path), "Dockerfile")); err != nil {
			t.Fatalf("%s: its Dockerfile must sit beside it (the runner's build context): %v", tc.path, err)
		}
		flags := flagNames(t, tc.sub)
		for name, in := range m.Inputs {
			if in.Description == "" || (!in.Required && in.Default == nil) {
				t.Errorf("%s: input %s needs a description and a default", tc.path, name)
			}
			if !flags[name] {
				t.Errorf("%s: input %s is not a flag of cachet %s: it would be ignored", tc.path, name, tc.sub)
			}
		}
		for name, out := range m.Outputs {
			if out.Description == "" {
				t.Errorf("%s: output %s has no description", tc.path, name)
			}
		}
	}
}

// runner reproduces the GitHub runner's `docker run` for a container action.
type runner struct {
	t                            *testing.T
	ws, home, workflow, filecmds string
	runnerTemp                   string
}

func newRunner(t *testing.T) *runner {
	base := t.TempDir()
	r := &runner{t: t, ws: filepath.Join(base, "workspace"), home: filepath.Join(base, "home"),
		workflow: filepath.Join(base, "workflow"), filecmds: filepath.Join(base, "file_commands"), runnerTemp: filepath.Join(base, "temp")}
	for _, d := range []string{r.ws, r.home, r.workflow, r.filecmds, r.runnerTemp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// exec runs image with the runner's flags; inputs become INPUT_<NAME> (upper-cased,
// hyphens kept), passed by name with -e as the runner does.
func (r *runner) exec(image string, runArgs []string, inputs map[string]string, withToken bool) (result, string, string) {
	t := r.t
	t.Helper()
	out := filepath.Join(r.filecmds, fmt.Sprintf("set_output_%d", time.Now().UnixNano()))
	sum := filepath.Join(r.filecmds, fmt.Sprintf("step_summary_%d", time.Now().UnixNano()))
	for _, f := range []string{out, sum} {
		os.WriteFile(f, nil, 0o666)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GITHUB_ACTIONS=true", "CI=true", "GITHUB_WORKSPACE=/github/workspace", "GITHUB_REPOSITORY=octo-org/octo-repo",
		"GITHUB_OUTPUT=/github/file_commands/" + filepath.Base(out),
		"GITHUB_STEP_SUMMARY=/github/file_commands/" + filepath.Base(sum),
		"RUNNER_TEMP=/github/runner_temp", "RUNNER_OS=Linux"}
	names := []string{"GITHUB_ACTIONS", "CI", "GITHUB_WORKSPACE", "GITHUB_REPOSITORY", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "RUNNER_TEMP", "RUNNER_OS"}
	if withToken {
		reqTok, _ := os.ReadFile(stack["CACHET_STACK_REQUEST_TOKEN_FILE"])
		env = append(env, "ACTIONS_ID_TOKEN_REQUEST_URL="+stack["CACHET_STACK_TOKEN_URL"],
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN="+strings.TrimSpace(string(reqTok)))
		names = append(names, "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	}
	for k, v := range inputs {
		n := "INPUT_" + strings.ToUpper(strings.ReplaceAll(k, " ", "_"))
		env = append(env, n+"="+v)
		names = append(names, n)
	}
	args := []string{"run", "--name", fmt.Sprintf("cachet_test_%d", time.Now().UnixNano()), "--label", "cachet-test",
		"--workdir", "/github/workspace", "--rm", "--network", "host"}
	for _, n := range names {
		args = append(args, "-e", n)
	}
	args = append(args, "-e", "HOME=/github/home",
		"-v", r.home+":/github/home", "-v", r.workflow+":/github/workflow", "-v", r.filecmds+":/github/file_commands",
		"-v", r.ws+":/github/workspace", "-v", r.runnerTemp+":/github/runner_temp", image)
	args = append(args, runArgs...) // runs.args from action.yml, after the image as the runner puts them
	res := run(t, r.ws, env, "podman", args...)
	o, _ := os.ReadFile(out)
	s, _ := os.ReadFile(sum)
	return res, string(o), string(s)
}

// containerSetup runs scripts/container/setup once per test binary: podman as the runner
// note says, and the base-image stand-ins.
var containerSetup = sync.OnceValue(func() error {
	setup := exec.Command("../scripts/container/setup")
	setup.Stderr = os.Stderr
	return setup.Run()
})

func setupContainers(t *testing.T) {
	t.Helper()
	if err := containerSetup(); err != nil {
		t.Fatalf("scripts/container/setup: %v", err)
	}
}

// buildImages builds both action images the way the runner does:
// `docker build -t TAG -f <dir>/Dockerfile <dir>`, base images replaced by local
// stand-ins under their upstream names (scripts/container/setup).
func buildImages(t *testing.T) (signImage, verifyImage string) {
	t.Helper()
	repo, _ := filepath.Abs("..")
	setupContainers(t)
	signImage, verifyImage = "localhost/cachet-action-test:sign", "localhost/cachet-action-test:verify"
	for _, b := range []struct{ tag, dir string }{{signImage, repo}, {verifyImage, filepath.Join(repo, "verify")}} {
		start := time.Now()
		r := run(t, repo, os.Environ(), "podman", "build", "-t", b.tag, "-f", filepath.Join(b.dir, "Dockerfile"), b.dir)
		if r.code != 0 {
			t.Fatalf("podman build %s: %s\n%s", b.dir, r.stdout, r.stderr)
		}
		t.Logf("built %s in %s", b.tag, time.Since(start).Round(time.Millisecond))
		if b.tag == signImage {
			// verify/Dockerfile starts FROM the published image; stand in for it.
			if r := run(t, repo, os.Environ(), "podman", "tag", signImage, "ghcr.io/cachet-sign/cachet:v1"); r.code != 0 {
				t.Fatalf("podman tag: %s", r.stderr)
			}
		}
	}
	return signImage, verifyImage
}

func outputValue(outputs, name string) string {
	re := regexp.MustCompile(`(?s)(?:^|\n)` + regexp.QuoteMeta(name) + `<<(\S+)\n(.*?)\n(\S+)\n`)
	m := re.FindStringSubmatch(outputs)
	if m == nil || m[1] != m[3] {
		return ""
	}
	return m[2]
}

// TestContainerActions signs a workspace file with the sign action's container against
// the local stack, verifies the bundle with the verify action's container and with
// cosign, then feeds both containers bad inputs.
func TestContainerActions(t *testing.T) {
	signImage, verifyImage := buildImages(t)
	r := newRunner(t)
	writeFile(t, filepath.Join(r.ws, "app.tar.gz"), "release payload for the container test\n")
	trBytes, _ := os.ReadFile(stack["CACHET_STACK_TRUSTED_ROOT"])
	writeFile(t, filepath.Join(r.ws, "trusted_root.json"), string(trBytes))
	signInputs := map[string]string{
		"artifacts": "app.tar.gz", "trusted-root": "trusted_root.json",
		"fulcio-url": stack["CACHET_STACK_FULCIO_URL"], "rekor-url": stack["CACHET_STACK_REKOR_URL"],
		"timestamp-server-url": stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp",
		"oidc-issuer":          stack["CACHET_STACK_OIDC_ISSUER"], "allow-self-hosted": "false", "audit-log": "-",
	}
	signArgs, verifyArgs := readAction(t, "../action.yml").Runs.Args, readAction(t, "../verify/action.yml").Runs.Args
	res, outputs, summary := r.exec(signImage, signArgs, signInputs, true)
	if res.code != 0 {
		t.Fatalf("sign container exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	meta := readAction(t, "../action.yml")
	for name := range meta.Outputs {
		if outputValue(outputs, name) == "" {
			t.Errorf("sign action did not set output %s:\n%s", name, outputs)
		}
	}
	if got := outputValue(outputs, "certificate-identity"); got != wantSAN {
		t.Fatalf("certificate-identity = %q", got)
	}
	if !strings.Contains(summary, "cachet sign: 1 signed") || !strings.Contains(summary, "| `app.tar.gz` |") {
		t.Fatalf("summary: %s", summary)
	}
	if !strings.Contains(res.stdout, "::add-mask::") {
		t.Fatal("the token was not masked")
	}
	bundle := filepath.Join(r.ws, "app.tar.gz.sigstore.json")
	if v := cosignVerify(t, r.ws, bundle, wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], filepath.Join(r.ws, "app.tar.gz")); v.code != 0 {
		t.Fatalf("cosign rejected the container's bundle: %s", v.stderr)
	}

	verifyInputs := map[string]string{
		"artifacts": "app.tar.gz", "trusted-root": "trusted_root.json", "certificate-identity": wantSAN,
		"certificate-oidc-issuer": stack["CACHET_STACK_OIDC_ISSUER"], "repository-id": "123456789", "min-timestamps": "1",
		"output": "text", "concurrency": "0",
	}
	res, outputs, summary = r.exec(verifyImage, verifyArgs, verifyInputs, false)
	if res.code != 0 {
		t.Fatalf("verify container exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if outputValue(outputs, "verified") != "1" || outputValue(outputs, "failed") != "0" ||
		outputValue(outputs, "report") != "/github/runner_temp/cachet-verify-report.json" {
		t.Fatalf("verify outputs: %s", outputs)
	}
	if _, err := os.Stat(filepath.Join(r.runnerTemp, "cachet-verify-report.json")); err != nil {
		t.Fatalf("report: %v", err)
	}
	if !strings.Contains(summary, "1 verified, 0 failed") {
		t.Fatalf("verify summary: %s", summary)
	}
	// No trusted-root input and nothing in the trust cache: the image's embedded
	// public-good snapshot, said in the log, which does not list the stack's log.
	noRoot := map[string]string{}
	for k, v := range verifyInputs {
		noRoot[k] = v
	}
	noRoot["trusted-root"] = ""
	res, _, _ = r.exec(verifyImage, verifyArgs, noRoot, false)
	if res.code != 1 || !strings.Contains(res.stderr, "trusted root: embedded public-good snapshot") ||
		!strings.Contains(res.stdout, "which the trusted root does not list") {
		t.Fatalf("verify container without a trusted root: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	// Bad inputs: an annotation, a non-zero exit, no bundle.
	os.Remove(bundle)
	bad := []struct {
		name   string
		image  string
		over   map[string]string
		token  bool
		code   int
		errMsg string
	}{
		{"missing file", signImage, map[string]string{"artifacts": "nope.tar.gz"}, true, 2, "nope.tar.gz"},
		{"bad glob", signImage, map[string]string{"artifacts": "dist/[*.zip"}, true, 2, "glob"},
		{"unknown input value", signImage, map[string]string{"allow-self-hosted": "maybe"}, true, 2, "allow-self-hosted"},
		{"no token permission", signImage, nil, false, 3, "id-token: write"},
		{"verify unknown output format", verifyImage, map[string]string{"output": "xml"}, false, 2, "output"},
		{"verify tampered artifact", verifyImage, map[string]string{"artifacts": "tampered.bin"}, false, 1, "tampered.bin"},
	}
	writeFile(t, filepath.Join(r.ws, "tampered.bin"), "x")
	writeFile(t, filepath.Join(r.ws, "tampered.bin.sigstore.json"), "{}")
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			in := map[string]string{}
			base, runArgs := signInputs, signArgs
			if b.image == verifyImage {
				base, runArgs = verifyInputs, verifyArgs
			}
			for k, v := range base {
				in[k] = v
			}
			for k, v := range b.over {
				in[k] = v
			}
			res, outputs, _ := r.exec(b.image, runArgs, in, b.token)
			if res.code != b.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.code, b.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "::error") || !strings.Contains(res.stdout, b.errMsg) {
				t.Fatalf("no annotation naming %q: %s", b.errMsg, res.stdout)
			}
			if b.image == signImage && strings.TrimSpace(outputs) != "" {
				t.Fatalf("outputs written on failure: %s", outputs)
			}
			if m, _ := filepath.Glob(filepath.Join(r.ws, "app.tar.gz.sigstore.json*")); len(m) > 0 {
				t.Fatalf("bundle left behind: %v", m)
			}
		})
	}
	_ = bytes.Contains
}

// withDefaults is what the runner passes a container action: every input of its
// action.yml, the step's `with:` values over the defaults.
func withDefaults(meta actionMeta, with map[string]string) map[string]string {
	in := map[string]string{}
	for name, i := range meta.Inputs {
		if i.Default != nil {
			in[name] = *i.Default
		} else {
			in[name] = ""
		}
	}
	for k, v := range with {
		in[k] = v
	}
	return in
}

// TestContainerActionsTUF: the sign action's container, run the runner's way with only
// subject-path, tuf-url and tuf-root in `with:` (and oidc-issuer, standing in for
// GitHub's issuer with the stack's), takes its trusted root and services from a TUF
// repository on loopback, keeps the trust cache under /github/home, and writes a Rekor
// v2 bundle cosign verifies; the verify action's container checks it the same way.
func TestContainerActionsTUF(t *testing.T) {
	signImage, verifyImage := buildImages(t)
	r := newRunner(t)
	repo := newTUFRepo(t, t.TempDir())
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, repo.anchor, filepath.Join(r.ws, "tuf-root.json"))
	writeFile(t, filepath.Join(r.ws, "app.tar.gz"), "signed by the container with TUF trust\n")
	signMeta, verifyMeta := readAction(t, "../action.yml"), readAction(t, "../verify/action.yml")
	issuer := stack["CACHET_STACK_OIDC_ISSUER"]
	with := map[string]string{"subject-path": "app.tar.gz", "tuf-url": repo.url, "tuf-root": "tuf-root.json", "oidc-issuer": issuer}
	res, outputs, summary := r.exec(signImage, signMeta.Runs.Args, withDefaults(signMeta, with), true)
	if res.code != 0 {
		t.Fatalf("sign container exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "trusted root: TUF repository "+repo.url+" (refreshed in /github/home/.cache/cachet/trust") ||
		!strings.Contains(res.stderr, "Rekor "+stack["CACHET_STACK_REKOR_V2_URL"]+" (v2), 1 TSA(s)") {
		t.Fatalf("trust and services not from TUF:\n%s", res.stderr)
	}
	if _, err := os.Stat(filepath.Join(r.home, ".cache/cachet/trust/trusted_root.json")); err != nil {
		t.Fatalf("no trust cache under the runner's home: %v", err)
	}
	if outputValue(outputs, "certificate-identity") != wantSAN || !strings.Contains(summary, "cachet sign: 1 signed") {
		t.Fatalf("outputs %s\nsummary %s", outputs, summary)
	}
	bundle := filepath.Join(r.ws, "app.tar.gz.sigstore.json")
	if e := readBundle(t, bundle).VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
		t.Fatalf("want a Rekor v2 entry: %+v", e)
	}
	if v := cosignVerify(t, r.ws, bundle, wantSAN, issuer, filepath.Join(r.ws, "app.tar.gz")); v.code != 0 {
		t.Fatalf("cosign rejected the container's bundle: %s", v.stderr)
	}

	// show-summary false: no summary.
	with["show-summary"] = "false"
	os.Remove(bundle)
	res, _, summary = r.exec(signImage, signMeta.Runs.Args, withDefaults(signMeta, with), true)
	if res.code != 0 || strings.TrimSpace(summary) != "" || !strings.Contains(res.stderr, "(cached in /github/home/.cache/cachet/trust") {
		t.Fatalf("show-summary false: exit %d, summary %q\n%s", res.code, summary, res.stderr)
	}

	vwith := map[string]string{"artifacts": "app.tar.gz", "tuf-url": repo.url, "tuf-root": "tuf-root.json",
		"certificate-identity": wantSAN, "certificate-oidc-issuer": issuer, "min-timestamps": "1"}
	res, outputs, _ = r.exec(verifyImage, verifyMeta.Runs.Args, withDefaults(verifyMeta, vwith), false)
	if res.code != 0 || outputValue(outputs, "verified") != "1" {
		t.Fatalf("verify container exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, outputs)
	}
}
