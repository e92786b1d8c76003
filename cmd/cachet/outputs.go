package main

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
