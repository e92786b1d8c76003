package main

import (
	"bytes"
	"strings"
	"testing"
)

// walkCommands calls f with the argument path of every command in table and, below
// it, every subcommand: a command added to a table is covered without editing a test.
func walkCommands(prefix []string, table []command, f func(path []string)) {
	for _, c := range table {
		path := append(append([]string{}, prefix...), c.Name)
		f(path)
		walkCommands(path, c.Sub, f)
	}
}

// TestHelpExitsZero: `cachet CMD -h` and `--help` print the command's usage on stdout
// and exit 0, for every command and subcommand; nothing goes to stderr and nothing
// runs (no service is reachable here, so a command that ran would fail).
func TestHelpExitsZero(t *testing.T) {
	n := 0
	walkCommands(nil, commands, func(path []string) {
		for _, h := range []string{"-h", "--help"} {
			n++
			args := append(append([]string{}, path...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errb bytes.Buffer
				e := &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb}
				code := run(t.Context(), args, e)
				if code != exitOK {
					t.Fatalf("cachet %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), code, errb.String())
				}
				if errb.Len() != 0 {
					t.Errorf("cachet %s wrote to stderr, want help on stdout only:\n%s", strings.Join(args, " "), errb.String())
				}
				name := "cachet " + strings.Join(path, " ")
				if !strings.Contains(out.String(), name) {
					t.Errorf("cachet %s: stdout does not name %q:\n%s", strings.Join(args, " "), name, out.String())
				}
			})
		}
	})
	if n < 2*len(commands) {
		t.Fatalf("walked %d help invocations for %d commands", n, len(commands))
	}
}

// TestTopLevelHelp: `cachet -h`, `--help` and `help` list every command of the table.
func TestTopLevelHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help", "help"} {
		var out, errb bytes.Buffer
		code := run(t.Context(), []string{h}, &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb})
		if code != exitOK || errb.Len() != 0 {
			t.Fatalf("cachet %s: exit %d, stderr %q", h, code, errb.String())
		}
		for _, c := range commands {
			if !strings.Contains(out.String(), "\n  "+c.Name+" ") {
				t.Errorf("cachet %s does not list %s:\n%s", h, c.Name, out.String())
			}
		}
	}
}

// TestBadFlagIsUsage: a flag that does not exist is still a usage error (exit 2) with
// the flags on stderr and nothing on stdout.
func TestBadFlagIsUsage(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"verify-bundle", "--no-such-flag"}, &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb})
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "-certificate-identity") || !strings.Contains(errb.String(), "no-such-flag") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}
}
