package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/release"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// errHelpShown is what a command returns after -h or --help printed its usage on
// stdout: the run ends there, with exit 0.
var errHelpShown = errors.New("help shown")

// parseFlags parses args, then fills every flag not given on the command line from the
// action input of the same name (INPUT_FULCIO-URL for --fulcio-url). Repeatable flags
// take one value per line of the input. -h or --help prints the flags on stdout and
// returns errHelpShown; a bad flag prints them on stderr and is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, e *env) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	perr := fs.Parse(args)
	fs.SetOutput(e.stderr)
	if errors.Is(perr, flag.ErrHelp) {
		_, werr := e.stdout.Write(out.Bytes())
		if werr != nil {
			return werr
		}
		return errHelpShown
	}
	if perr != nil {
		e.stderr.Write(out.Bytes())
		return usagef("%v", perr)
	}
	a := e.action()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v := a.GetInput(f.Name)
		if v == "" {
			return
		}
		if _, repeat := f.Value.(*listFlag); repeat {
			for _, line := range splitLines(v) {
				if serr := fs.Set(f.Name, line); serr != nil {
					err = usagef("input %s: %v", f.Name, serr)
				}
			}
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("input %s: %q: %v", f.Name, v, serr)
		}
	})
	return err
}

func splitLines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// expandArtifacts is regfile.Expand with bundles (*.sigstore.json, the previous run's
// output) skipped without a word, other skipped matches said on warn, and every name
// checked (checkName) before anything is signed. With dirs, a matched directory is kept
// for the caller to walk (sign).
func expandArtifacts(patterns []string, dirs bool, warn io.Writer) ([]string, error) {
	out, err := regfile.Expand(patterns, regfile.ExpandOptions{Dirs: dirs, Warn: warn,
		Quiet: func(m string) bool { return strings.HasSuffix(m, release.BundleSuffix) }})
	if err != nil {
		return nil, usagef("%v", err)
	}
	for _, m := range out {
		if err := checkName("artifact", m); err != nil {
			return nil, err
		}
	}
	return out, nil
}
