package keyless

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sigstore/fulcio/pkg/certificate"
)

// Claims are the GitHub Actions ID-token claims cachet uses. Identity is derived from
// these named claims, never by parsing "sub" (its format is customisable per repository).
type Claims struct {
	Issuer               string `json:"iss"`
	Subject              string `json:"sub"`
	JobWorkflowRef       string `json:"job_workflow_ref"`
	JobWorkflowSHA       string `json:"job_workflow_sha"`
	WorkflowRef          string `json:"workflow_ref"`
	WorkflowSHA          string `json:"workflow_sha"`
	Workflow             string `json:"workflow"`
	Repository           string `json:"repository"`
	RepositoryID         string `json:"repository_id"`
	RepositoryOwner      string `json:"repository_owner"`
	RepositoryOwnerID    string `json:"repository_owner_id"`
	RepositoryVisibility string `json:"repository_visibility"`
	Ref                  string `json:"ref"`
	SHA                  string `json:"sha"`
	EventName            string `json:"event_name"`
	RunID                string `json:"run_id"`
	RunAttempt           string `json:"run_attempt"`
	RunnerEnvironment    string `json:"runner_environment"`
	Environment          string `json:"environment"`
}

// ParseClaims decodes a token payload (JSON). It does not verify anything: use
// Verifier.Verify for tokens from outside.
func ParseClaims(payload []byte) (*Claims, error) {
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	return &c, nil
}

// requiredClaims are the claims Fulcio's github-workflow issuer requires; a token
// without one is refused here rather than by Fulcio after a round trip.
func (c *Claims) requiredClaims() []struct{ name, value string } {
	return []struct{ name, value string }{
		{"sub", c.Subject}, {"job_workflow_ref", c.JobWorkflowRef}, {"job_workflow_sha", c.JobWorkflowSHA},
		{"workflow_ref", c.WorkflowRef}, {"workflow_sha", c.WorkflowSHA}, {"workflow", c.Workflow},
		{"repository", c.Repository}, {"repository_id", c.RepositoryID}, {"repository_owner", c.RepositoryOwner},
		{"repository_owner_id", c.RepositoryOwnerID}, {"repository_visibility", c.RepositoryVisibility},
		{"ref", c.Ref}, {"sha", c.SHA}, {"event_name", c.EventName}, {"run_id", c.RunID},
		{"run_attempt", c.RunAttempt}, {"runner_environment", c.RunnerEnvironment},
	}
}

// Identity is what the certificate must say: the SAN, the issuer and the GitHub
// extensions (OIDs 1.3.6.1.4.1.57264.1.8 to .22) that Fulcio derives from the claims.
type Identity struct {
	SAN        string
	Issuer     string
	Subject    string // the token's sub, signed as proof of possession
	Extensions certificate.Extensions
}

// DefaultServerURL is the GitHub server whose URLs name workflows and repositories.
const DefaultServerURL = "https://github.com"

// DeriveIdentity computes the identity Fulcio certifies for verified claims, following
// fulcio's pkg/identity/github (workflowPrincipal.Embed). serverURL is the GitHub server
// (DefaultServerURL when empty; a GHES host otherwise).
func DeriveIdentity(c *Claims, serverURL string) (*Identity, error) {
	for _, rc := range c.requiredClaims() {
		if rc.value == "" {
			return nil, &RefusalError{Reason: fmt.Sprintf("the token has no %q claim: it is not a GitHub Actions ID token", rc.name)}
		}
	}
	if c.Issuer == "" {
		return nil, &RefusalError{Reason: `the token has no "iss" claim`}
	}
	if serverURL == "" {
		serverURL = DefaultServerURL
	}
	base, err := url.Parse(serverURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("keyless: server URL %q: want https://host", serverURL)
	}
	for _, v := range []string{c.JobWorkflowRef, c.WorkflowRef, c.Repository, c.RepositoryOwner, c.RunID, c.RunAttempt} {
		if strings.Contains(v, "..") || strings.ContainsAny(v, "\\\x00\n\r?#") || strings.HasPrefix(v, "/") {
			return nil, &RefusalError{Reason: fmt.Sprintf("claim value %q is not a GitHub name", v)}
		}
	}
	san := base.JoinPath(c.JobWorkflowRef).String()
	id := &Identity{
		SAN: san, Issuer: c.Issuer, Subject: c.Subject,
		Extensions: certificate.Extensions{
			Issuer:                              c.Issuer,
			BuildSignerURI:                      san,
			BuildSignerDigest:                   c.JobWorkflowSHA,
			RunnerEnvironment:                   c.RunnerEnvironment,
			SourceRepositoryURI:                 base.JoinPath(c.Repository).String(),
			SourceRepositoryDigest:              c.SHA,
			SourceRepositoryRef:                 c.Ref,
			SourceRepositoryIdentifier:          c.RepositoryID,
			SourceRepositoryOwnerURI:            base.JoinPath(c.RepositoryOwner).String(),
			SourceRepositoryOwnerIdentifier:     c.RepositoryOwnerID,
			BuildConfigURI:                      base.JoinPath(c.WorkflowRef).String(),
			BuildConfigDigest:                   c.WorkflowSHA,
			BuildTrigger:                        c.EventName,
			RunInvocationURI:                    base.JoinPath(c.Repository, "actions/runs", c.RunID, "attempts", c.RunAttempt).String(),
			SourceRepositoryVisibilityAtSigning: c.RepositoryVisibility,
		},
	}
	return id, nil
}

// Expectations are what the caller requires of the job. The zero value requires a
// GitHub-hosted runner and nothing else.
type Expectations struct {
	Repository      string   // owner/name, compared case-insensitively like GitHub
	Ref             string   // e.g. refs/heads/main or refs/tags/v1.2.3
	Workflow        string   // job_workflow_ref without @ref, e.g. owner/repo/.github/workflows/release.yml, or the full ref
	AllowSelfHosted bool     // allow runner_environment other than github-hosted
	AllowedEvents   []string // event_name values; empty allows any
}

// ParseEvents reads a comma-separated list of event names (push, release) for
// AllowedEvents; blanks around and between them are dropped, and an empty list, which
// allows any event, is nil.
func ParseEvents(list string) []string {
	var events []string
	for _, ev := range strings.Split(list, ",") {
		if ev = strings.TrimSpace(ev); ev != "" {
			events = append(events, ev)
		}
	}
	return events
}

// Check returns a *RefusalError naming the first expectation the claims contradict.
func (e Expectations) Check(c *Claims) error {
	if e.Repository != "" && !strings.EqualFold(e.Repository, c.Repository) {
		return &RefusalError{Reason: fmt.Sprintf("repository is %q, expected %q", c.Repository, e.Repository)}
	}
	if e.Ref != "" && e.Ref != c.Ref {
		return &RefusalError{Reason: fmt.Sprintf("ref is %q, expected %q", c.Ref, e.Ref)}
	}
	if e.Workflow != "" {
		path, _, _ := strings.Cut(c.JobWorkflowRef, "@")
		if e.Workflow != c.JobWorkflowRef && e.Workflow != path {
			return &RefusalError{Reason: fmt.Sprintf("job workflow is %q, expected %q", c.JobWorkflowRef, e.Workflow)}
		}
	}
	if !e.AllowSelfHosted && c.RunnerEnvironment != "github-hosted" {
		return &RefusalError{Reason: fmt.Sprintf("runner_environment is %q: signing on self-hosted runners is refused unless allow-self-hosted is set", c.RunnerEnvironment)}
	}
	if len(e.AllowedEvents) > 0 && !slices.Contains(e.AllowedEvents, c.EventName) {
		return &RefusalError{Reason: fmt.Sprintf("event %q is not among the allowed events %v", c.EventName, e.AllowedEvents)}
	}
	return nil
}

// RefusalError is a decision not to sign, with the reason. It is audited as
// codesign.keyless.refused.
type RefusalError struct{ Reason string }

func (e *RefusalError) Error() string { return "refused: " + e.Reason }

// IsRefusal reports whether err is (or wraps) a refusal.
func IsRefusal(err error) bool {
	var r *RefusalError
	return errors.As(err, &r)
}
