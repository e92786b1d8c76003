package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachet-sign/cachet/internal/names"
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

// expandArtifacts resolves paths and globs. A path given by name is kept as it is: the
// caller checks it is a regular file, following a symbolic link (the user named it). A
// glob takes only what a directory walk would: regular files, not symbolic links (a link
// can point anywhere, /dev/zero or a file outside the tree), not bundles
// (*.sigstore.json, the previous run's output). Other matches are skipped, with a line on
// warn saying why, except bundles, which are expected beside their artifacts. With dirs,
// a matched directory is kept for the caller to walk (sign); without, it is skipped. A
// glob left with nothing is an error.
func expandArtifacts(patterns []string, dirs bool, warn io.Writer) ([]string, error) {
	var out []string
	var checkErr error
	seen := map[string]bool{}
	add := func(m string) {
		if checkErr == nil {
			checkErr = checkName("artifact", m)
		}
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") {
			add(p)
			continue
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, usagef("bad glob %q: %v", p, err)
		}
		if len(matches) == 0 {
			return nil, usagef("glob %q matches no file", p)
		}
		n := 0
		for _, m := range matches {
			st, err := os.Lstat(m)
			switch {
			case err != nil:
				fmt.Fprintf(warn, "skipped %s: %v\n", names.Shown(m), errors.Unwrap(err))
			case st.Mode().IsRegular() && strings.HasSuffix(m, release.BundleSuffix):
			case st.Mode().IsRegular(), dirs && st.IsDir():
				add(m)
				n++
			case st.Mode()&fs.ModeSymlink != 0:
				fmt.Fprintf(warn, "skipped %s: a symbolic link (a glob takes regular files only; name the link itself to use its target)\n", names.Shown(m))
			default:
				fmt.Fprintf(warn, "skipped %s: %s, not a regular file\n", names.Shown(m), regfile.Kind(st.Mode()))
			}
		}
		if n == 0 {
			return nil, usagef("glob %q matches no regular file (bundles, symbolic links and special files are skipped)", p)
		}
	}
	if checkErr != nil {
		return nil, checkErr
	}
	return out, nil
}
