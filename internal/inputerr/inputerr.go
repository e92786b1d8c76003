// Package inputerr describes a parse error of outside bytes without quoting them.
//
// encoding/json and protojson put the offending input in their messages ("invalid
// character 'e'", "invalid value eyJhbGci..."): when a path meant for a bundle or a
// trusted root names a token or key file by mistake (or by a symbolic link), that secret
// would reach the log, an annotation or a report. Describe keeps only where the problem
// is and what kind it is.
package inputerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// protojson errors read "proto: [syntax error ](line L:C): what, quoting input".
var protoPos = regexp.MustCompile(`\(line (\d+):(\d+)\)`)

// Describe says what kind of problem err is and where, e.g. "invalid JSON at offset 12"
// or "a field it does not have at line 3, column 5". Nothing of the input is included.
func Describe(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("a value of the wrong type at offset %d", te.Offset)
	}
	msg := err.Error()
	if msg == "unexpected end of JSON input" {
		return "invalid JSON: it ends too soon"
	}
	where := ""
	if m := protoPos.FindStringSubmatch(msg); m != nil {
		where = fmt.Sprintf(" at line %s, column %s", m[1], m[2])
	}
	switch {
	case strings.Contains(msg, "syntax error"), strings.Contains(msg, "unexpected EOF"), strings.Contains(msg, "unexpected token"):
		return "invalid JSON" + where
	case strings.Contains(msg, "unknown field"):
		return "a field it does not have" + where
	case strings.Contains(msg, "duplicate field"):
		return "a field given twice" + where
	}
	return "a value of the wrong type or form" + where
}
