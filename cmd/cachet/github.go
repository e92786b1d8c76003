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
	c, err := gh.FromEnv(e.getenv, repo, gh.Options{APIURL: apiURL, UploadURL: uploadURL,
		MaxWait: rateWait, MaxWaitName: "--rate-limit-wait", Log: log}, e.mask())
	switch {
	case errors.Is(err, gh.ErrBadRepo):
		return nil, usagef("--repo: %v (default $GITHUB_REPOSITORY)", err)
	case errors.Is(err, gh.ErrNoToken):
		return nil, usagef("%v (env: GITHUB_TOKEN: ${{ github.token }}, with permissions: %s)", err, perm)
	case errors.Is(err, gh.ErrBadAPIURL):
		return nil, usagef("--github-api-url: %v (default $GITHUB_API_URL)", err)
	}
	return c, err
}
