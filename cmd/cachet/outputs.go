package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachet-sign/cachet/internal/names"
	"github.com/sethvargo/go-githubactions"
)

// goGitHubActionsDelimiter is the fixed heredoc delimiter go-githubactions v1.3.1 writes
// to GITHUB_OUTPUT and GITHUB_STEP_SUMMARY's siblings. The runner docs ask for a random
// one: a value holding this line could end the heredoc early and inject other outputs
// (an artifact name comes from whoever made the release). We wrap the defect by refusing
// such values rather than forking the library.
const goGitHubActionsDelimiter = "_GitHubActionsFileCommandDelimeter_"

// setOutputs writes action outputs, refusing any value that could break out of its heredoc.
func setOutputs(a *githubactions.Action, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.Contains(kv[i+1], goGitHubActionsDelimiter) || strings.ContainsAny(kv[i], "\n<=") {
			return fmt.Errorf("output %s: value contains the output delimiter; refusing to write it", kv[i])
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		a.SetOutput(kv[i], kv[i+1])
	}
	return nil
}

// shown is a name (an artifact, a bundle path, a checksums entry, a release asset) as it
// may reach the log, an annotation, an output or the job summary: as it is, unless it
// holds a control character or is not UTF-8; then Go-quoted, with the escapes visible.
// A raw line break in a name would start a new log line, where "::add-mask::",
// "::stop-commands::" or "::warning::" are workflow commands.
func shown(s string) string {
	if names.HasControl(s) || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
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
