package main

import (
	"flag"
	"io"
	"strconv"
	"strings"

	"github.com/cachet-sign/cachet/internal/cli"
	"github.com/cachet-sign/cachet/internal/names"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/release"
)

// parseFlags parses args and fills the flags not given from the action's inputs
// (cli.Parse): INPUT_FULCIO-URL for --fulcio-url.
func parseFlags(fs *flag.FlagSet, args []string, e *env) error {
	return cli.Parse(fs, args, e.stdout, e.stderr, e.action().GetInput)
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

// checkName refuses a name with a control character before anything is signed: its
// bundle path would reach the one-per-line bundle-paths output, where a line break
// splits it into two entries.
func checkName(what, name string) error {
	if names.HasControl(name) {
		return usagef("%s %s: the name holds a control character; a line break would split the bundle-paths output and could inject workflow commands into the log: rename it", what, strconv.Quote(name))
	}
	return nil
}
