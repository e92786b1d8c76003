package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// GitHub's artifact attestations API (docs.github.com/rest/repos/attestations):
// POST /repos/{owner}/{repo}/attestations with {"bundle": <Sigstore bundle>} answers
// 201 {"id": N}. It needs a token with `attestations: write` (actions/attest moved
// from `contents: write` to it); without it GITHUB_TOKEN gets 403 "Resource not
// accessible by integration". go-github v60 has no typed method, so the request is
// built with the client's NewRequest and Do, which keep its GHES base URL, token,
// API version header and rate-limit errors.

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
func (f *ghAttestFlags) target(e *env) (*attestationsAPI, error) {
	if !f.enabled {
		return nil, nil
	}
	t, err := openGitHub(e, f.repo, f.apiURL, "", "attestations: write")
	if err != nil {
		return nil, err
	}
	return &attestationsAPI{repo: t, retry: &ghRetry{maxWait: f.rateWait, log: e.stderr}}, nil
}

// attestationsAPI publishes bundles to one repository's attestations.
type attestationsAPI struct {
	repo  *githubRepo
	retry *ghRetry
}

// ErrNotAttestation is a bundle the attestations API does not take: it stores in-toto
// attestations (a DSSE envelope), not message signatures.
var ErrNotAttestation = errors.New("not an attestation bundle: the GitHub attestations API stores bundles with an in-toto DSSE envelope (cachet attest), not signatures (cachet sign)")

// publish stores one bundle, sent as written (bundleJSON is the verified bundle
// file's content), and returns GitHub's attestation id (0 if the answer carried
// none; the schema marks it optional). Rate limits are waited out up to the
// configured bound; a 5xx or dropped connection is retried, which may store the same
// bundle twice: harmless, the API keeps a list per subject.
func (a *attestationsAPI) publish(ctx context.Context, bundleJSON []byte) (int64, error) {
	var b struct {
		DsseEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return 0, fmt.Errorf("github attestations: bundle: %w", err)
	}
	if len(b.DsseEnvelope) == 0 || string(b.DsseEnvelope) == "null" {
		return 0, ErrNotAttestation
	}
	body := struct {
		Bundle json.RawMessage `json:"bundle"`
	}{bundleJSON}
	path := fmt.Sprintf("repos/%s/%s/attestations", url.PathEscape(a.repo.owner), url.PathEscape(a.repo.name))
	var out struct {
		ID int64 `json:"id"`
	}
	err := a.retry.do(ctx, "publish attestation", func() (*github.Response, error) {
		req, err := a.repo.gh.NewRequest(http.MethodPost, path, body)
		if err != nil {
			return nil, err
		}
		return a.repo.gh.Do(ctx, req, &out)
	})
	if err != nil {
		return 0, attestationsError(a.repo.owner+"/"+a.repo.name, err)
	}
	return out.ID, nil
}

// attestationsError says what to do about a refusal; go-github's error (method, URL,
// status, GitHub's message) ends it. A 403 is also what a private repository on a plan
// without attestations gets ("Feature not available ..."), where no permission helps.
func attestationsError(repo string, err error) error {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("github attestations of %s: %w", repo, err)
	}
	switch code := er.Response.StatusCode; {
	case strings.Contains(er.Message, "Feature not available"):
		return fmt.Errorf("github attestations of %s: GitHub does not offer attestations for this repository (private repositories need a plan that includes them): %w", repo, err)
	case code == http.StatusForbidden || code == http.StatusNotFound:
		return fmt.Errorf("github attestations of %s: the token lacks `attestations: write`: add `permissions: attestations: write` to the job "+
			"(`contents: write` is not enough) and set the step's env GITHUB_TOKEN: ${{ github.token }}; with --repo, check the name: %w", repo, err)
	case code == http.StatusUnauthorized:
		return fmt.Errorf("github attestations of %s: GITHUB_TOKEN is not a valid token for this GitHub: %w", repo, err)
	case code == http.StatusUnprocessableEntity:
		return fmt.Errorf("github attestations of %s: GitHub refused the bundle: %w", repo, err)
	}
	return fmt.Errorf("github attestations of %s: %w", repo, err)
}
