package report

import (
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// goGitHubActionsDelimiter is the fixed heredoc delimiter go-githubactions v1.3.1 writes
// to GITHUB_OUTPUT and GITHUB_STEP_SUMMARY's siblings. The runner docs ask for a random
// one: a value holding this line could end the heredoc early and inject other outputs
// (an artifact name comes from whoever made the release). We wrap the defect by refusing
// such values rather than forking the library.
const goGitHubActionsDelimiter = "_GitHubActionsFileCommandDelimeter_"

// SetOutputs writes step outputs, name and value pairs, refusing all of them when any
// value could break out of its heredoc or any name is not one.
func SetOutputs(a *githubactions.Action, kv ...string) error {
	if err := CheckOutputs(kv...); err != nil {
		return err
	}
	for i := 0; i+1 < len(kv); i += 2 {
		a.SetOutput(kv[i], kv[i+1])
	}
	return nil
}

// CheckOutputs is SetOutputs' refusal: the first pair whose value holds the delimiter
// or whose name holds a line break, '<' or '='.
func CheckOutputs(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.Contains(kv[i+1], goGitHubActionsDelimiter) || strings.ContainsAny(kv[i], "\n<=") {
			return fmt.Errorf("output %s: value contains the output delimiter; refusing to write it", kv[i])
		}
	}
	return nil
}
