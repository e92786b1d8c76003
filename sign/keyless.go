package sign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// KeylessOptions set up a keyless run.
type KeylessOptions struct {
	Token        func(context.Context) (string, error) // the job's OIDC token (the caller masks it)
	Issuer       string                                // the token's issuer: its keys verify it
	ServerURL    string                                // the GitHub server whose URLs name workflows
	Expectations keyless.Expectations
	Services     Services
	Trusted      *root.TrustedRoot
	IgnoreSCT    bool // the self-check accepts a certificate without a valid SCT
	Audit        *audit.Logger
	HTTPClient   *http.Client // for the issuer, Fulcio and TSAs; nil: one with a 30 s timeout
}

// Keyless is one keyless run: the pipeline every subject shares (one ephemeral key, one
// Fulcio certificate), the certified identity and the verified claims it came from.
type Keyless struct {
	Pipeline *Pipeline
	Identity *keyless.Identity
	Claims   *keyless.Claims
}

// NewKeyless verifies the token against its issuer's keys, derives the identity, checks
// the expectations, has Fulcio certify an ephemeral key, and assembles the pipeline with
// the run's log, TSAs and a self-check a verifier would make. Every refusal is audited
// as codesign.keyless.refused and returned as ErrRefused.
func NewKeyless(ctx context.Context, o KeylessOptions) (*Keyless, error) {
	refuse := func(err error) error {
		if aerr := o.Audit.Log(audit.Event{Event: "codesign.keyless.refused", Issuer: o.Issuer, Reason: err.Error()}); aerr != nil {
			return fmt.Errorf("audit log: %w (after refusing: %v)", aerr, err)
		}
		return Refuse(err)
	}
	if err := o.Services.Check(true); err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: httpretry.KeepAlive, Timeout: 30 * time.Second}
	}
	cf := &keyless.Certifier{
		Verifier:     &keyless.Verifier{Issuer: o.Issuer, HTTPClient: hc},
		ServerURL:    o.ServerURL,
		Expectations: o.Expectations,
		Fulcio:       &keyless.Fulcio{URL: o.Services.FulcioURL, HTTPClient: hc},
	}
	token, err := o.Token(ctx)
	if errors.Is(err, keyless.ErrNoTokenPermission) {
		return nil, refuse(err)
	}
	if err != nil {
		return nil, err
	}
	cert, err := cf.Certify(ctx, token)
	if err != nil {
		if isTokenRefusal(err) || errors.Is(err, keyless.ErrCertificateMismatch) || errors.Is(err, keyless.ErrIssuerNotAccepted) {
			return nil, refuse(err)
		}
		return nil, err
	}
	id := cert.Identity
	log := o.Services.Log(o.Trusted)
	kc, err := newKeylessCheck(o.Trusted, id.SAN, id.Issuer, len(o.Services.TSAURLs), log.IntegratedTime(), o.IgnoreSCT)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		Signer: cert.Signer, Certificate: cert.Chain[0].Raw,
		Rekor:  log,
		Verify: kc.bundle, verifyParsed: kc.parsed, accepts: kc.accepts, Audit: o.Audit,
		SAN: id.SAN, Issuer: id.Issuer, CertSerial: cert.Chain[0].SerialNumber.Text(16),
	}
	if t := o.Services.TSA(o.Trusted, hc); t != nil {
		// The same trusted TSAs as the self-check's, verifying through its cache: the
		// TSA chain once per run, and the self-check does not verify again a token
		// this client accepted for the same signature (keylessCheck).
		if tsas := kc.sc.TimestampingAuthorities(); tsas != nil {
			t.Trusted = tsas
		}
		p.TSA = t
	}
	return &Keyless{Pipeline: p, Identity: id, Claims: cert.Claims}, nil
}

// isTokenRefusal: the token does not verify, names an issuer not configured or
// contradicts itself or the expectations.
func isTokenRefusal(err error) bool {
	return keyless.IsRefusal(err) || errors.Is(err, keyless.ErrTokenInvalid) || errors.Is(err, keyless.ErrIssuerNotConfigured) ||
		errors.Is(err, keyless.ErrMalformedToken)
}

// ProvenanceRun is the GitHub run SLSA provenance describes, from the verified token's
// claims only (never from inputs or the environment the workflow sets).
func ProvenanceRun(c *keyless.Claims, serverURL string) *attest.GitHubRun {
	return &attest.GitHubRun{
		ServerURL: serverURL, JobWorkflowRef: c.JobWorkflowRef, WorkflowRef: c.WorkflowRef,
		Repository: c.Repository, RepositoryID: c.RepositoryID, RepositoryOwnerID: c.RepositoryOwnerID,
		Ref: c.Ref, SHA: c.SHA, EventName: c.EventName, RunID: c.RunID, RunAttempt: c.RunAttempt,
		RunnerEnvironment: c.RunnerEnvironment,
	}
}
