package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cachet-sign/cachet/internal/inputs"
)

// UsageError is bad input from the user: a flag, an argument or an input.
type UsageError struct{ Msg string }

func (u *UsageError) Error() string { return u.Msg }

// Usagef is a *UsageError.
func Usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// ErrHelpShown is what a command returns after -h or --help printed its usage on
// stdout: the run ends there, with exit 0.
var ErrHelpShown = errors.New("help shown")

// Parse parses args, then fills every flag not given on the command line from the
// action input of the same name as getInput reads it (INPUT_FULCIO-URL for
// --fulcio-url). Repeatable flags take one value per line of the input. -h or --help
// prints the flags on stdout and returns ErrHelpShown; a bad flag prints them on
// stderr and is a usage error.
func Parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, getInput func(string) string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	perr := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(perr, flag.ErrHelp) {
		_, werr := stdout.Write(out.Bytes())
		if werr != nil {
			return werr
		}
		return ErrHelpShown
	}
	if perr != nil {
		stderr.Write(out.Bytes())
		return Usagef("%v", perr)
	}
	if err := inputs.Fill(fs, getInput); err != nil {
		return Usagef("%v", err)
	}
	return nil
}

// ParseInterspersed is Parse with flags given before or after the positional
// arguments, which it returns.
func ParseInterspersed(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, getInput func(string) string) ([]string, error) {
	var pos []string
	for {
		if err := Parse(fs, args, stdout, stderr, getInput); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// Command is one entry of a command table: the top-level commands, or a command's
// subcommands (Sub). Run gets the arguments after the command's name and the run's
// environment E.
type Command[E any] struct {
	Name, Summary string
	Run           func(ctx context.Context, args []string, e E) error
	Sub           []Command[E] // subcommands, for help tests to walk; Run dispatches them
}

// UsageText lists a command table; footer ends it (by default, how to see a
// command's flags).
func UsageText[E any](prefix string, table []Command[E], footer string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s <command> [flags]\n\ncommands:\n", prefix)
	w := 0
	for _, c := range table {
		w = max(w, len(c.Name))
	}
	for _, c := range table {
		fmt.Fprintf(&b, "  %-*s  %s\n", w, c.Name, c.Summary)
	}
	b.WriteString("\n")
	if footer == "" {
		footer = fmt.Sprintf("Run '%s <command> -h' for a command's flags.", prefix)
	}
	b.WriteString(footer)
	return b.String()
}

// Dispatch runs the command of table that args[0] names; -h, --help and help print
// the table's usage on stdout (nil: exit 0), and no command or an unknown one is a
// usage error showing it. prefix is the table's command line ("cachet", "cachet trust").
func Dispatch[E any](ctx context.Context, args []string, e E, stdout io.Writer, prefix string, table []Command[E], footer string) error {
	u := UsageText(prefix, table, footer)
	if len(args) == 0 {
		return Usagef("%s", u)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, u)
		return nil
	}
	for _, c := range table {
		if c.Name == args[0] {
			return c.Run(ctx, args[1:], e)
		}
	}
	if _, sub, ok := strings.Cut(prefix, " "); ok {
		return Usagef("unknown %s command %q\n%s", sub, args[0], u)
	}
	return Usagef("unknown command %q\n%s", args[0], u)
}
