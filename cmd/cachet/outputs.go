package main

import (
	"strconv"

	"github.com/cachet-sign/cachet/internal/names"
)

// checkName refuses a name with a control character before anything is signed: its
// bundle path would reach the one-per-line bundle-paths output, where a line break
// splits it into two entries.
func checkName(what, name string) error {
	if names.HasControl(name) {
		return usagef("%s %s: the name holds a control character; a line break would split the bundle-paths output and could inject workflow commands into the log: rename it", what, strconv.Quote(name))
	}
	return nil
}
