// Package inputs fills a command's flags from a GitHub Action's inputs, so one binary
// serves both `cachet sign --fulcio-url U` and `with: fulcio-url: U` (INPUT_FULCIO-URL).
// A flag given on the command line wins over its input; a repeatable flag (a List)
// takes one value per non-empty line of the input.
package inputs

import (
	"flag"
	"fmt"
	"strings"
)

// List is a repeatable flag: every --name VALUE (or line of the input) adds one value.
type List []string

func (l *List) String() string { return strings.Join(*l, ",") }

// Set adds v.
func (l *List) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// Fill sets every flag of fs that the command line did not set (fs is parsed) from the
// input of the same name, as get returns it ("" for none). An input a flag refuses is
// an error naming the input.
func Fill(fs *flag.FlagSet, get func(name string) string) error {
	set := Given(fs)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v := get(f.Name)
		if v == "" {
			return
		}
		if _, repeat := f.Value.(*List); repeat {
			for _, line := range Lines(v) {
				if serr := fs.Set(f.Name, line); serr != nil {
					err = fmt.Errorf("input %s: %v", f.Name, serr)
				}
			}
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("input %s: %q: %v", f.Name, v, serr)
		}
	})
	return err
}

// Given is the set of fs's flags that were set: on the command line, or after Fill
// from an input too. A caller tells an explicit value from the default by it.
func Given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// Lines are the non-empty lines of v, trimmed.
func Lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
