package main

import (
	"flag"
	"time"

	"github.com/cachet-sign/cachet/internal/gh"
)

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
