package main

import (
	"errors"
	"io"
	"time"

	"github.com/cachet-sign/cachet/internal/gh"
)

// openGitHub resolves the repository (repo, else $GITHUB_REPOSITORY), the API URL
// (apiURL, else $GITHUB_API_URL, else api.github.com) and the token ($GITHUB_TOKEN,
// masked in Actions), and makes the client; rate limits are waited out up to
// rateWait (--rate-limit-wait). perm names the job permission the command needs, for
// the message when the token is missing.
func openGitHub(e *env, repo, apiURL, uploadURL, perm string, rateWait time.Duration, log io.Writer) (*gh.Client, error) {
	if repo == "" {
		repo = e.getenv("GITHUB_REPOSITORY")
	}
	owner, name, err := gh.ParseRepo(repo)
	if err != nil {
		return nil, usagef("--repo %q: want owner/name (default $GITHUB_REPOSITORY)", repo)
	}
	token := e.getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, usagef("no GitHub token: set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}, with permissions: %s)", perm)
	}
	if e.inActions() {
		e.action().AddMask(token)
	}
	if apiURL == "" {
		apiURL = e.getenv("GITHUB_API_URL")
	}
	c, err := gh.New(gh.Options{Owner: owner, Name: name, APIURL: apiURL, UploadURL: uploadURL, Token: token,
		MaxWait: rateWait, MaxWaitName: "--rate-limit-wait", Log: log})
	if errors.Is(err, gh.ErrBadAPIURL) {
		return nil, usagef("--github-api-url %q: want https://HOST/api/v3", apiURL)
	}
	return c, err
}
