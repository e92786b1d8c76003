package main

import (
	"flag"
	"io"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// parseFlags parses args, then fills every flag not given on the command line from the
// action input of the same name (INPUT_FULCIO-URL for --fulcio-url). Repeatable flags
// take one value per line of the input.
func parseFlags(fs *flag.FlagSet, args []string, a *githubactions.Action, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
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
				if e := fs.Set(f.Name, line); e != nil {
					err = usagef("input %s: %v", f.Name, e)
				}
			}
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = usagef("input %s: %q: %v", f.Name, v, e)
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

// expandArtifacts resolves paths and globs; a glob that matches nothing is an error.
func expandArtifacts(patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, usagef("bad glob %q: %v", p, err)
			}
			if len(m) == 0 {
				return nil, usagef("glob %q matches no file", p)
			}
			matches = m
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}
