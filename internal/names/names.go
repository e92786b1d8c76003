// Package names checks names that reach one-per-line outputs and the runner's log: an
// artifact, bundle or subject name with a control character (a line break above all)
// would split the bundle-paths output and could inject workflow commands.
package names

import (
	"strings"
	"unicode"
)

// HasControl reports whether s holds a control character or a Unicode line or
// paragraph separator.
func HasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) >= 0
}
