package policy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachet-sign/cachet/internal/strictdoc"
	"github.com/cachet-sign/cachet/keyless"
)

// ErrPolicy means a policy or approvals file is unusable as written.
var ErrPolicy = errors.New("signing policy")

// ErrRefused is what every refusal from MaySign is (errors.Is).
var ErrRefused = errors.New("refused by the signing policy")

// RefusedError is a decision not to sign, with the first failing condition as Reason.
type RefusedError struct {
	Tenant, KeyID, Principal, Digest string
	Reason                           string
}

func (e *RefusedError) Error() string        { return "signing policy refuses: " + e.Reason }
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Principal is who asks to sign, from the verified token's claims.
type Principal struct {
	Repository        string // owner/name
	RepositoryID      string
	Workflow          string // job_workflow_ref: owner/repo/.github/workflows/x.yml@ref
	Ref               string
	Environment       string // empty when the job names no environment
	Event             string
	RunnerEnvironment string // github-hosted or self-hosted
}

// FromClaims takes the principal from verified claims (keyless.Verifier.Verify). The
// job workflow (job_workflow_ref) is the workflow that runs the job, so a reusable
// workflow is named as itself, not as its caller.
func FromClaims(c *keyless.Claims) Principal {
	return Principal{Repository: c.Repository, RepositoryID: c.RepositoryID, Workflow: c.JobWorkflowRef, Ref: c.Ref,
		Environment: c.Environment, Event: c.EventName, RunnerEnvironment: c.RunnerEnvironment}
}

// String names the principal in audit lines and messages.
func (p Principal) String() string {
	s := fmt.Sprintf("repo:%s id:%s workflow:%s ref:%s event:%s runner:%s", p.Repository, p.RepositoryID, p.Workflow, p.Ref, p.Event, p.RunnerEnvironment)
	if p.Environment != "" {
		s += " environment:" + p.Environment
	}
	return s
}

// Policy is a parsed policy file. Keys are the field tags; unknown keys are errors.
type Policy struct {
	// ApprovalsFile holds the out-of-band approvals, relative to the policy file.
	ApprovalsFile string            `json:"approvals-file,omitempty"`
	Tenants       map[string]Tenant `json:"tenants"`
	// Approvals are the recorded approvals; Load reads them from ApprovalsFile.
	Approvals []Approval `json:"-"`
}

// Tenant is one team or product that signs with its own keys.
type Tenant struct {
	Keys []Key `json:"keys"`
}

// Key is one signing key of a tenant and who may sign with it.
type Key struct {
	// ID is the key id: base64 SHA-256 of the DER public key (cachet key public prints it).
	ID    string `json:"key-id"`
	Name  string `json:"name,omitempty"` // for people
	Rules []Rule `json:"rules"`
}

// Rule names a principal and the conditions it signs under. The first rule whose
// principal matches decides.
type Rule struct {
	// Principal: repository (owner/name) or repository-id, or both; workflow optionally
	// (owner/repo/.github/workflows/x.yml, or with @ref).
	Repository   string `json:"repository,omitempty"`
	RepositoryID string `json:"repository-id,omitempty"`
	Workflow     string `json:"workflow,omitempty"`

	// Refs are path.Match patterns the ref must match (refs/tags/v*); required.
	Refs []string `json:"refs"`
	// Environment the job must run in (the token's environment claim); GitHub holds
	// the job until the environment's required reviewers approve.
	Environment string `json:"environment,omitempty"`
	// Events (event_name) allowed; any when empty.
	Events []string `json:"events,omitempty"`
	// RunnerEnvironments allowed (self-hosted, github-hosted); any when empty.
	RunnerEnvironments []string `json:"runner-environments,omitempty"`
	// DigestsDeny are never signed; DigestsAllow, when not empty, are the only ones signed.
	DigestsDeny  []string `json:"digests-deny,omitempty"`
	DigestsAllow []string `json:"digests-allow,omitempty"`
	// Approvals is how many distinct approvers must have approved the digest in the
	// approvals file; Approvers, when not empty, are the only ones who count.
	Approvals int      `json:"approvals,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
	// EnvironmentApproves counts a job in Environment as approved: the environment's
	// required reviewers are the approval mechanism. Needs Environment.
	EnvironmentApproves bool `json:"environment-approves,omitempty"`
}

// NormApprover is the form approvers are compared in: GitHub logins are case-insensitive,
// so " Alice", "alice" and "@ALICE" are one approver and count once.
func NormApprover(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}

// Approval is one approver's approval of one digest.
type Approval struct {
	Digest   string `json:"digest"` // sha256:<hex>
	Approver string `json:"approver"`
}

// decodeStrict decodes one YAML or JSON document, refusing unknown, duplicated and
// case-variant keys and a second document (whose deny rules would otherwise be dropped).
func decodeStrict(data []byte, v any) error {
	if err := strictdoc.Decode(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return nil
}

// Parse reads a policy (YAML or JSON) and validates it.
func Parse(data []byte) (*Policy, error) {
	var p Policy
	if err := decodeStrict(data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// ParseApprovals reads an approvals file: a list of {digest, approver}.
func ParseApprovals(data []byte) ([]Approval, error) {
	var as []Approval
	if err := decodeStrict(data, &as); err != nil {
		return nil, err
	}
	for i, a := range as {
		d, err := normDigest(a.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: approval %d: %v", ErrPolicy, i, err)
		}
		if NormApprover(a.Approver) == "" {
			return nil, fmt.Errorf("%w: approval %d has no approver", ErrPolicy, i)
		}
		as[i].Digest, as[i].Approver = d, NormApprover(a.Approver)
	}
	return as, nil
}

// Load reads the policy at path and the approvals file it names, after checking that
// only root could have written either (see Trusted); path empty is DefaultPath().
func Load(path string) (*Policy, error) {
	if path == "" {
		path = DefaultPath()
	}
	real, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	data, err := readTrusted(real)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if p.ApprovalsFile != "" {
		ap := p.ApprovalsFile
		if !filepath.IsAbs(ap) {
			ap = filepath.Join(filepath.Dir(real), ap)
		}
		rap, err := filepath.EvalSymlinks(ap)
		if err != nil {
			return nil, fmt.Errorf("%w: approvals file: %v", ErrPolicy, err)
		}
		data, err := readTrusted(rap)
		if err != nil {
			return nil, fmt.Errorf("approvals file: %w", err)
		}
		if p.Approvals, err = ParseApprovals(data); err != nil {
			return nil, fmt.Errorf("approvals file %s: %w", ap, err)
		}
	}
	return p, nil
}

func normDigest(s string) (string, error) {
	h, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != 32 {
		return "", fmt.Errorf("digest %q is not sha256: and 64 hex digits", s)
	}
	return "sha256:" + h, nil
}

// Validate refuses policies that would allow more than they seem to.
func (p *Policy) Validate() error {
	if len(p.Tenants) == 0 {
		return fmt.Errorf("%w: no tenants", ErrPolicy)
	}
	for tn, t := range p.Tenants {
		if tn == "" {
			return fmt.Errorf("%w: a tenant has no name", ErrPolicy)
		}
		seen := map[string]bool{}
		for i, k := range t.Keys {
			where := fmt.Sprintf("tenant %q key %d", tn, i)
			if k.ID == "" {
				return fmt.Errorf("%w: %s: no key-id (cachet key public --key REF prints it)", ErrPolicy, where)
			}
			if seen[k.ID] {
				return fmt.Errorf("%w: %s: key-id %s listed twice", ErrPolicy, where, k.ID)
			}
			seen[k.ID] = true
			if len(k.Rules) == 0 {
				return fmt.Errorf("%w: %s: no rules: nobody could sign with it", ErrPolicy, where)
			}
			for j := range k.Rules {
				if err := k.Rules[j].validate(); err != nil {
					return fmt.Errorf("%w: %s rule %d: %v", ErrPolicy, where, j, err)
				}
			}
		}
	}
	return nil
}

func (r *Rule) validate() error {
	if r.Repository == "" && r.RepositoryID == "" {
		return errors.New("name the principal with repository or repository-id")
	}
	if r.RepositoryID != "" && strings.Trim(r.RepositoryID, "0123456789") != "" {
		return fmt.Errorf("repository-id %q is not a number", r.RepositoryID)
	}
	if len(r.Refs) == 0 {
		return errors.New("no refs: list the protected refs that may sign (refs/heads/main, refs/tags/v*)")
	}
	for _, pat := range r.Refs {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			return fmt.Errorf("ref pattern %q: bad pattern", pat)
		}
	}
	for _, list := range [][]string{r.DigestsAllow, r.DigestsDeny} {
		for i, d := range list {
			nd, err := normDigest(d)
			if err != nil {
				return err
			}
			list[i] = nd
		}
	}
	if r.Approvals < 0 {
		return errors.New("approvals is negative")
	}
	if r.EnvironmentApproves && r.Environment == "" {
		return errors.New("environment-approves needs environment")
	}
	if len(r.Approvers) > 0 && r.Approvals == 0 {
		return errors.New("approvers without approvals: set how many must approve")
	}
	for i, a := range r.Approvers {
		if r.Approvers[i] = NormApprover(a); r.Approvers[i] == "" {
			return fmt.Errorf("approver %d is empty", i)
		}
	}
	return nil
}

func (r *Rule) matches(pr Principal) bool {
	if r.Repository != "" && !strings.EqualFold(r.Repository, pr.Repository) {
		return false
	}
	if r.RepositoryID != "" && r.RepositoryID != pr.RepositoryID {
		return false
	}
	if r.Workflow != "" {
		wpath, _, _ := strings.Cut(pr.Workflow, "@")
		if r.Workflow != pr.Workflow && r.Workflow != wpath {
			return false
		}
	}
	return true
}

// MaySign returns nil when principal pr may sign digest (SHA-256) with the key keyID for
// tenant, or a *RefusedError naming the first condition that fails.
func (p *Policy) MaySign(tenant string, pr Principal, keyID string, digest []byte) error {
	refuse := func(format string, args ...any) error {
		return &RefusedError{Tenant: tenant, KeyID: keyID, Principal: pr.String(), Digest: "sha256:" + hex.EncodeToString(digest),
			Reason: fmt.Sprintf(format, args...)}
	}
	if len(digest) != 32 {
		return refuse("digest is %d bytes, not SHA-256", len(digest))
	}
	d := "sha256:" + hex.EncodeToString(digest)
	t, ok := p.Tenants[tenant]
	if !ok || tenant == "" {
		return refuse("tenant %q is not in the policy", tenant)
	}
	i := slices.IndexFunc(t.Keys, func(k Key) bool { return k.ID == keyID })
	if i < 0 {
		return refuse("key %s is not a key of tenant %q", keyID, tenant)
	}
	k := t.Keys[i]
	j := slices.IndexFunc(k.Rules, func(r Rule) bool { return r.matches(pr) })
	if j < 0 {
		return refuse("no rule of key %s (tenant %q) names repository %s (id %s), workflow %s", keyID, tenant, pr.Repository, pr.RepositoryID, pr.Workflow)
	}
	r := k.Rules[j]
	if !slices.ContainsFunc(r.Refs, func(pat string) bool { ok, _ := path.Match(pat, pr.Ref); return ok }) {
		return refuse("ref %q is not a protected ref of the rule (%s)", pr.Ref, strings.Join(r.Refs, ", "))
	}
	if r.Environment != "" && pr.Environment != r.Environment {
		return refuse("the job runs in environment %q, the rule requires %q", pr.Environment, r.Environment)
	}
	if len(r.Events) > 0 && !slices.Contains(r.Events, pr.Event) {
		return refuse("event %q is not among the rule's events (%s)", pr.Event, strings.Join(r.Events, ", "))
	}
	if len(r.RunnerEnvironments) > 0 && !slices.Contains(r.RunnerEnvironments, pr.RunnerEnvironment) {
		return refuse("runner environment %q is not among the rule's (%s)", pr.RunnerEnvironment, strings.Join(r.RunnerEnvironments, ", "))
	}
	if slices.Contains(r.DigestsDeny, d) {
		return refuse("digest %s is on the deny list", d)
	}
	if len(r.DigestsAllow) > 0 && !slices.Contains(r.DigestsAllow, d) {
		return refuse("digest %s is not on the allow list", d)
	}
	if r.Approvals > 0 && !(r.EnvironmentApproves && pr.Environment == r.Environment) {
		approvers := map[string]bool{}
		for _, a := range p.Approvals {
			if a.Digest == d && (len(r.Approvers) == 0 || slices.Contains(r.Approvers, a.Approver)) {
				approvers[a.Approver] = true
			}
		}
		if len(approvers) < r.Approvals {
			return refuse("digest %s has %d of %d required approvals", d, len(approvers), r.Approvals)
		}
	}
	return nil
}
