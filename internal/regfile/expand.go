package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachet-sign/cachet/internal/names"
)

// ExpandOptions say what Expand takes from a glob.
type ExpandOptions struct {
	// Dirs keeps a matched directory, for the caller to walk; else it is skipped.
	Dirs bool
	// Quiet says which regular files a glob skips without a word (bundles, which are
	// expected beside their artifacts).
	Quiet func(name string) bool
	// Warn gets a line for every other match skipped, saying why; nil discards them.
	Warn io.Writer
}

// Expand resolves paths and globs. A path given by name is kept as it is: the caller
// checks it is a regular file, following a symbolic link (the user named it). A glob
// takes only what a directory walk would: regular files (and directories with Dirs),
// not symbolic links (a link can point anywhere, /dev/zero or a file outside the
// tree), not special files, not the files Quiet names. A bad glob, or one left with
// nothing, is an error. Each name is kept once, in order.
func Expand(patterns []string, o ExpandOptions) ([]string, error) {
	warn := o.Warn
	if warn == nil {
		warn = io.Discard
	}
	var out []string
	seen := map[string]bool{}
	add := func(m string) {
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
			return nil, fmt.Errorf("bad glob %q: %v", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("glob %q matches no file", p)
		}
		n := 0
		for _, m := range matches {
			st, err := os.Lstat(m)
			switch {
			case err != nil:
				fmt.Fprintf(warn, "skipped %s: %v\n", names.Shown(m), errors.Unwrap(err))
			case st.Mode().IsRegular() && o.Quiet != nil && o.Quiet(m):
			case st.Mode().IsRegular(), o.Dirs && st.IsDir():
				add(m)
				n++
			case st.Mode()&fs.ModeSymlink != 0:
				fmt.Fprintf(warn, "skipped %s: a symbolic link (a glob takes regular files only; name the link itself to use its target)\n", names.Shown(m))
			default:
				fmt.Fprintf(warn, "skipped %s: %s, not a regular file\n", names.Shown(m), Kind(st.Mode()))
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("glob %q matches no regular file (bundles, symbolic links and special files are skipped)", p)
		}
	}
	return out, nil
}
