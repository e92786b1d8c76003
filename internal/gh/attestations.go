package gh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// GitHub's artifact attestations API (docs.github.com/rest/repos/attestations):
// POST /repos/{owner}/{repo}/attestations with {"bundle": <Sigstore bundle>} answers
// 201 {"id": N}. It needs a token with `attestations: write` (actions/attest moved
// from `contents: write` to it); without it GITHUB_TOKEN gets 403 "Resource not
// accessible by integration". go-github v60 has no typed method, so the request is
// built with the client's NewRequest and Do, which keep its GHES base URL, token,
// API version header and rate-limit errors.

// ErrNotAttestation is a bundle the attestations API does not take: it stores in-toto
// attestations (a DSSE envelope), not message signatures.
var ErrNotAttestation = errors.New("not an attestation bundle: the GitHub attestations API stores bundles with an in-toto DSSE envelope (cachet attest), not signatures (cachet sign)")

// PublishAttestation stores one bundle, sent as written (bundleJSON is the verified
// bundle file's content), and returns GitHub's attestation id (0 if the answer carried
// none; the schema marks it optional). Rate limits are waited out up to MaxWait; a 5xx
// or dropped connection is retried, which may store the same bundle twice: harmless,
// the API keeps a list per subject.
func (c *Client) PublishAttestation(ctx context.Context, bundleJSON []byte) (int64, error) {
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
	path := fmt.Sprintf("repos/%s/%s/attestations", url.PathEscape(c.Owner), url.PathEscape(c.Name))
	req, err := c.api.NewRequest(http.MethodPost, path, body) // a bytes.Buffer body: GetBody is set
	if err != nil {
		return 0, err
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if _, err := c.api.Do(op(ctx, "publish attestation"), req, &out); err != nil {
		return 0, attestationsError(c.Repo(), err)
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
			"(`contents: write` is not enough) and set the step's env GITHUB_TOKEN: ${{ github.token }}; if the repository is not the workflow's, check the name: %w", repo, err)
	case code == http.StatusUnauthorized:
		return fmt.Errorf("github attestations of %s: GITHUB_TOKEN is not a valid token for this GitHub: %w", repo, err)
	case code == http.StatusUnprocessableEntity:
		return fmt.Errorf("github attestations of %s: GitHub refused the bundle: %w", repo, err)
	}
	return fmt.Errorf("github attestations of %s: %w", repo, err)
}
