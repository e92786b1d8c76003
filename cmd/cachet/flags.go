package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/release"
)

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
	if err := inputs.Fill(fs, e.action().GetInput); err != nil {
		return usagef("%v", err)
	}
	return nil
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
