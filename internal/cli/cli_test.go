package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/inputs"
)

// TestParse: the command line wins over the inputs, a repeatable flag takes one value
// per line of its input, -h prints the flags on stdout (ErrHelpShown), and a bad flag
// or input is a usage error with the flags on stderr.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		in             map[string]string
		url            string
		list           []string
		help, usage    bool
		stdout, stderr string
	}{
		{name: "flag", args: []string{"--url", "a"}, url: "a"},
		{name: "input", in: map[string]string{"url": "b"}, url: "b"},
		{name: "the flag wins", args: []string{"--url", "a"}, in: map[string]string{"url": "b"}, url: "a"},
		{name: "lines of a list", in: map[string]string{"item": "x\n\n y \n"}, list: []string{"x", "y"}},
		{name: "help", args: []string{"-h"}, help: true, stdout: "-url"},
		{name: "bad flag", args: []string{"--nope"}, usage: true, stderr: "-url"},
		{name: "bad input", in: map[string]string{"n": "many"}, usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			url := fs.String("url", "", "a URL")
			var list inputs.List
			fs.Var(&list, "item", "repeatable")
			fs.Int("n", 0, "a number")
			var stdout, stderr bytes.Buffer
			err := Parse(fs, tc.args, &stdout, &stderr, func(k string) string { return tc.in[k] })
			var ue *UsageError
			switch {
			case tc.help != errors.Is(err, ErrHelpShown), tc.usage != errors.As(err, &ue):
				t.Fatalf("err %v", err)
			case !tc.help && !tc.usage && (err != nil || *url != tc.url || strings.Join(list, ",") != strings.Join(tc.list, ",")):
				t.Fatalf("url %q, list %q, err %v", *url, list, err)
			case !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr):
				t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
			case tc.stdout == "" && stdout.Len() > 0:
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	dir := fs.String("dir", "", "")
	pos, err := ParseInterspersed(fs, []string{"a", "--dir", "d", "b"}, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	if err != nil || *dir != "d" || strings.Join(pos, " ") != "a b" {
		t.Fatalf("pos %q, dir %q, err %v", pos, *dir, err)
	}
}

// TestDispatch: a command runs with the arguments after its name; help lists the table
// on stdout; no command and an unknown one are usage errors showing the table.
func TestDispatch(t *testing.T) {
	var got []string
	table := []Command[*[]string]{
		{Name: "sign", Summary: "sign things", Run: func(_ context.Context, args []string, e *[]string) error { *e = args; return nil }},
		{Name: "verify-bundle", Summary: "verify one"},
	}
	for _, tc := range []struct {
		name, prefix string
		args         []string
		ran          string
		usage        string // in the usage error
		stdout       string
	}{
		{name: "runs", prefix: "cachet", args: []string{"sign", "x", "--y"}, ran: "x --y"},
		{name: "help", prefix: "cachet", args: []string{"help"}, stdout: "usage: cachet <command> [flags]\n\ncommands:\n  sign           sign things\n  verify-bundle  verify one\n\nRun 'cachet <command> -h' for a command's flags.\n"},
		{name: "none", prefix: "cachet", usage: "usage: cachet <command>"},
		{name: "unknown", prefix: "cachet", args: []string{"sing"}, usage: "unknown command \"sing\"\nusage: cachet"},
		{name: "unknown subcommand", prefix: "cachet tsa", args: []string{"sing"}, usage: "unknown tsa command \"sing\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			var stdout bytes.Buffer
			err := Dispatch(t.Context(), tc.args, &got, &stdout, tc.prefix, table, "")
			var ue *UsageError
			switch {
			case tc.usage != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.usage)):
				t.Fatalf("err %v, want a usage error with %q", err, tc.usage)
			case tc.usage == "" && err != nil:
				t.Fatal(err)
			case strings.Join(got, " ") != tc.ran || stdout.String() != tc.stdout:
				t.Fatalf("ran with %q, stdout %q", got, stdout.String())
			}
		})
	}
	if u := UsageText("cachet key", table[:1], "footer."); !strings.HasSuffix(u, "\n\nfooter.") {
		t.Errorf("footer: %q", u)
	}
}
