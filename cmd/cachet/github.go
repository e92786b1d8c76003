package main

import (
	"errors"
	"flag"
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

// `cachet attest --github-attestations` publishes through internal/gh, which knows
// the API (docs.github.com/rest/repos/attestations) and its refusals.

// ghAttestFlags choose whether and where `cachet attest` publishes its bundle.
type ghAttestFlags struct {
	enabled  bool
	repo     string
	apiURL   string
	rateWait time.Duration
}

func (f *ghAttestFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "github-attestations", false,
		"also store the bundle in the repository's GitHub attestations API (GITHUB_TOKEN with permissions: attestations: write)")
	fs.StringVar(&f.repo, "repo", "", "owner/name whose attestations API receives the bundle; default $GITHUB_REPOSITORY")
	fs.StringVar(&f.apiURL, "github-api-url", "", "GitHub REST API; default $GITHUB_API_URL or https://api.github.com (GHES: https://HOST/api/v3)")
	fs.DurationVar(&f.rateWait, "rate-limit-wait", 2*time.Minute, "longest wait for a GitHub rate limit to reset before giving up")
}

// target resolves repository, token and client before anything is signed,
// so a missing token or bad --repo stops the run early. nil when not enabled.
func (f *ghAttestFlags) target(e *env) (*gh.Client, error) {
	if !f.enabled {
		return nil, nil
	}
	return openGitHub(e, f.repo, f.apiURL, "", "attestations: write", f.rateWait, e.stderr)
}
