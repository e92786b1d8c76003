// Command cachet signs and verifies software in GitHub workflows with Sigstore.
//
// It only parses flags (or the action's INPUT_* variables) and calls the library; one
// exit point turns an error into a `::error::` annotation (in Actions) and an exit code:
//
//	0  success
//	1  failure: a service, an artifact or a verification failed
//	2  usage: bad flags or inputs (a missing file, a glob that matches nothing)
//	3  refused: the identity token or the expectations do not allow signing
//	130, 143  interrupted by SIGINT or SIGTERM (128 + the signal's number)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cachet-sign/cachet/internal/cli"
	"github.com/cachet-sign/cachet/internal/interrupt"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sethvargo/go-githubactions"
)

// Exit codes; stable, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitRefused = 3
)

var version = "dev"

// env is the process as a value: tests run commands without touching the real one.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	grace  *interrupt.Grace // what tsa serve says about its end (nil in tests: the default)
}

func (e *env) action() *githubactions.Action {
	return githubactions.New(githubactions.WithGetenv(e.getenv), githubactions.WithWriter(e.stdout))
}

func (e *env) inActions() bool { return e.getenv("GITHUB_ACTIONS") == "true" }

// mask hides a secret (a PIN, a token) from the job's log in Actions; nil elsewhere.
func (e *env) mask() func(string) {
	if !e.inActions() {
		return nil
	}
	return e.action().AddMask
}

// outputs are a signing command's step outputs (when the runner gave GITHUB_OUTPUT)
// and, when summary and the runner gave GITHUB_STEP_SUMMARY, its job summary.
func (e *env) outputs(summary bool) report.Actions {
	return report.Actions{Action: e.action(), StepOutputs: e.getenv("GITHUB_OUTPUT") != "",
		StepSummary: summary && e.getenv("GITHUB_STEP_SUMMARY") != ""}
}

// usageError is bad input from the user (exit 2).
type usageError = cli.UsageError

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

func main() {
	ctx, stop := interrupt.Notify(context.Background())
	e := &env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr, grace: &interrupt.Grace{}}
	stopProfile := cli.StartCPUProfile(os.Getenv("CACHET_CPU_PROFILE"), os.Stderr)
	cli.TuneGC(os.Getenv("GOGC"))
	done := make(chan int, 1)
	go func() { code := run(ctx, os.Args[1:], e); stopProfile(); done <- code }()
	// Every long operation sees ctx (reads, network calls, waits) and returns within
	// moments of a signal. Bundles are written to a temporary file and renamed, so
	// even giving up leaves no partial bundle at a bundle path.
	code, ok := interrupt.Wait(ctx, done, e.grace.Duration)
	if !ok {
		code = exit(ctx, errors.New("the command did not stop in time; exiting"), e)
	}
	stop()
	os.Exit(code)
}

// command is one entry of a command table: the top-level commands, or a command's
// subcommands (Sub).
type command = cli.Command[*env]

// commands is cachet's command table: run dispatches through it, the usage text lists it,
// and the help test walks it, so a command added here is covered by all three.
var commands = []command{
	{Name: "sign", Summary: "sign artifacts keylessly (GitHub OIDC -> Fulcio -> Rekor -> bundle)", Run: cmdSign},
	{Name: "attest", Summary: "sign an in-toto attestation (SLSA provenance, SBOM) over files or an image by digest", Run: cmdAttest},
	{Name: "release", Summary: "sign a GitHub release's assets and upload ASSET.sigstore.json beside each", Run: cmdRelease},
	{Name: "verify", Summary: "verify many artifacts against a policy, offline", Run: cmdVerify},
	{Name: "verify-bundle", Summary: "verify one artifact and bundle (cosign verify-blob flags, the sigstore-conformance protocol)", Run: cmdVerifyBundle},
	{Name: "policy", Summary: "print the verify policy and commands for a bundle", Run: cmdPolicy},
	{Name: "key", Summary: "key mode keys: 'key public --key REF' prints the public key", Run: cmdKey, Sub: keyCommands},
	{Name: "tsa", Summary: "RFC 3161 timestamp authority: serve, dev-chain", Run: cmdTSA, Sub: tsaCommands},
	{Name: "trust", Summary: "trusted root and signing config: export, import (air-gapped), refresh (TUF)", Run: cmdTrust, Sub: trustCommands},
	{Name: "version", Summary: "print the version", Run: cmdVersion},
}

func cmdVersion(_ context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("cachet version", flag.ContinueOnError)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(e.stdout, "cachet", version)
	return nil
}

func dispatch(ctx context.Context, args []string, e *env, prefix string, table []command, footer string) error {
	return cli.Dispatch(ctx, args, e, e.stdout, prefix, table, footer)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		// In a container action the command may come as an input.
		if c := e.getenv("INPUT_COMMAND"); c != "" {
			args = []string{c}
		} else {
			fmt.Fprintln(e.stderr, cli.UsageText("cachet", commands, ""))
			return exitUsage
		}
	}
	return exit(ctx, dispatch(ctx, args, e, "cachet", commands, ""), e)
}

// exit is the single exit point: one annotation, one code. A run a signal ended is
// reported as interrupted (exit 128 + the signal's number) whatever the command
// returned: what it did not finish is not a success.
func exit(ctx context.Context, err error, e *env) int {
	err, intr := interrupt.Result(ctx, err, e.grace.Stopped())
	if intr == nil && (err == nil || errors.Is(err, cli.ErrHelpShown)) {
		return exitOK
	}
	code := exitFailure
	var ue *usageError
	switch {
	case intr != nil:
		code = intr.ExitCode()
	case errors.As(err, &ue):
		code = exitUsage
	case errors.Is(err, sign.ErrRefused): // every decision not to sign, whichever package made it
		code = exitRefused
	}
	msg := err.Error()
	if e.inActions() {
		// An annotation is one line; the log keeps the whole message.
		first, _, _ := strings.Cut(msg, "\n")
		e.action().Errorf("%s", first)
		if first != msg {
			fmt.Fprintln(e.stderr, msg)
		}
	} else {
		fmt.Fprintln(e.stderr, "cachet:", msg)
	}
	return code
}
