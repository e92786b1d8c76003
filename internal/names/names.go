// Package names checks names that reach one-per-line outputs and the runner's log: an
// artifact, bundle or subject name with a control character (a line break above all)
// would split the bundle-paths output and could inject workflow commands. Shown quotes
// such a name wherever it is printed.
package names

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HasControl reports whether s holds a control character or a Unicode line or
// paragraph separator.
func HasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) >= 0
}

// Shown is a name (an artifact, a bundle path, a checksums entry, a release asset) as
// it may reach the log, an annotation, an output or the job summary: as it is, unless
// it holds a control character or is not UTF-8; then Go-quoted, with the escapes
// visible. A raw line break in a name would start a new log line, where "::add-mask::",
// "::stop-commands::" or "::warning::" are workflow commands.
func Shown(s string) string {
	if HasControl(s) || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}
