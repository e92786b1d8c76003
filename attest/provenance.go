package attest

import (
	"errors"
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// GitHubBuildType is the build type of GitHub Actions workflow provenance; its
// externalParameters and internalParameters follow that schema
// (https://actions.github.io/buildtypes/workflow/v1).
const GitHubBuildType = "https://actions.github.io/buildtypes/workflow/v1"

// GitHubRun is the part of a GitHub job that provenance records. Fill it from the job's
// verified OIDC token claims, never from environment variables a step can set.
type GitHubRun struct {
	ServerURL         string // https://github.com, or a GHES server
	JobWorkflowRef    string // owner/repo/.github/workflows/x.yml@ref of the job's workflow (the builder)
	WorkflowRef       string // owner/repo/.github/workflows/x.yml@ref of the top-level workflow
	Repository        string // owner/repo
	RepositoryID      string
	RepositoryOwnerID string
	Ref               string // refs/heads/main
	SHA               string // commit
	EventName         string
	RunID, RunAttempt string
	RunnerEnvironment string
}

// BuilderID is the builder's identity: the URL of the job's workflow at its ref, which is
// also the Fulcio certificate's SAN and build signer URI.
func (r *GitHubRun) BuilderID() string { return r.server() + "/" + r.JobWorkflowRef }

// RepositoryURL is the source repository's URL.
func (r *GitHubRun) RepositoryURL() string { return r.server() + "/" + r.Repository }

// InvocationID is the URL of this run attempt.
func (r *GitHubRun) InvocationID() string {
	return fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", r.server(), r.Repository, r.RunID, r.RunAttempt)
}

func (r *GitHubRun) server() string {
	if r.ServerURL == "" {
		return "https://github.com"
	}
	return strings.TrimSuffix(r.ServerURL, "/")
}

// SLSAProvenance returns the SLSA build provenance v1 predicate (JSON) for a run:
// builder id = the job workflow URL; externalParameters.workflow = {ref, repository,
// path} of the triggering workflow; internalParameters.github = event, ids and runner
// environment; resolvedDependencies = the repository's git URI at the commit;
// metadata.invocationId = the run attempt's URL.
func SLSAProvenance(r *GitHubRun) ([]byte, error) {
	for name, v := range map[string]string{"job_workflow_ref": r.JobWorkflowRef, "workflow_ref": r.WorkflowRef, "repository": r.Repository,
		"ref": r.Ref, "sha": r.SHA, "run_id": r.RunID, "run_attempt": r.RunAttempt, "event_name": r.EventName} {
		if v == "" {
			return nil, fmt.Errorf("attest: provenance: the job has no %s", name)
		}
	}
	wfPath, wfRef, ok := strings.Cut(r.WorkflowRef, "@")
	if !ok {
		return nil, errors.New("attest: provenance: workflow_ref has no @ref")
	}
	wfPath, ok = strings.CutPrefix(wfPath, r.Repository+"/")
	if !ok {
		return nil, fmt.Errorf("attest: provenance: workflow_ref %q is not in repository %q", r.WorkflowRef, r.Repository)
	}
	ext, err := structpb.NewStruct(map[string]any{"workflow": map[string]any{
		"ref": wfRef, "repository": r.RepositoryURL(), "path": wfPath}})
	if err != nil {
		return nil, err
	}
	internal, err := structpb.NewStruct(map[string]any{"github": map[string]any{
		"event_name": r.EventName, "repository_id": r.RepositoryID, "repository_owner_id": r.RepositoryOwnerID,
		"runner_environment": r.RunnerEnvironment}})
	if err != nil {
		return nil, err
	}
	p := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:          GitHubBuildType,
			ExternalParameters: ext,
			InternalParameters: internal,
			ResolvedDependencies: []*intoto.ResourceDescriptor{{
				Uri:    "git+" + r.RepositoryURL() + "@" + r.Ref,
				Digest: map[string]string{"gitCommit": r.SHA},
			}},
		},
		RunDetails: &slsa.RunDetails{
			Builder:  &slsa.Builder{Id: r.BuilderID()},
			Metadata: &slsa.BuildMetadata{InvocationId: r.InvocationID()},
		},
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("attest: provenance: %w", err)
	}
	return protojson.Marshal(p)
}
