package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/internal/release"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sethvargo/go-githubactions"
)

// Actions says where, in a GitHub Actions step, a command's report goes besides
// stdout: Action (nil outside Actions) writes the step outputs when StepOutputs and
// the job summary when StepSummary.
type Actions struct {
	Action                   *githubactions.Action
	StepOutputs, StepSummary bool
}

// setOutputs is SetOutputs when the step has outputs.
func (o Actions) setOutputs(kv ...string) error {
	if o.Action == nil || !o.StepOutputs {
		return nil
	}
	return SetOutputs(o.Action, kv...)
}

// addSummary adds md() to the job summary when the step has one; md is not called
// otherwise (a summary of many subjects is long).
func (o Actions) addSummary(md func() string) {
	if o.Action != nil && o.StepSummary {
		o.Action.AddStepSummary(md())
	}
}

// Signing is what a cachet sign run reports: keyless, the certificate's identity and
// issuer; key mode (Check.Key), the key and the tenant.
type Signing struct {
	Report *sign.Report
	Signer
	// Check is how to verify the run; its Bundle and Artifact are the report's first.
	Check Check
}

// Signer is who signed: keyless, the certificate's identity and issuer; key mode, the
// key's id (the bundle's publicKey.hint), its PEM public key, and the tenant whose key
// it is.
type Signer struct {
	Identity, Issuer         string
	KeyID, PublicKey, Tenant string
}

// SignerOf is who s signs as, and how to verify what it signs: by the certificate's
// identity and issuer, or (key mode) by the public key, with the trusted root for its
// timestamps (trustedRoot, the file the run used; none for the default) and, when
// tlog, its Rekor entry. tenant is the key's tenant.
func SignerOf(s *sign.Signer, tenant, trustedRoot string, tlog bool) (Signer, Check, error) {
	if s.Key == nil {
		id := s.Identity
		return Signer{Identity: id.SAN, Issuer: id.Issuer}, Check{Identity: id.SAN, Issuer: id.Issuer}, nil
	}
	pub, err := s.Key.PublicPEM()
	if err != nil {
		return Signer{}, Check{}, err
	}
	return Signer{KeyID: s.Key.ID, PublicKey: string(pub), Tenant: tenant}, Check{Key: true, TrustedRoot: trustedRoot, TLog: tlog}, nil
}

// Publish writes the step outputs and the job summary o allows, then on stdout who
// signed and the command that checks it. The error is the run's (sign.Report.Err)
// unless the outputs could not be written.
func (s Signing) Publish(stdout io.Writer, o Actions) error {
	r := s.Report
	c := s.Check
	c.Bundle, c.Artifact = first(r.Bundles), first(r.Artifacts)
	verifyCmd := c.Command()
	kv := []string{"bundle-paths", strings.Join(r.Bundles, "\n")}
	if c.Key {
		kv = append(kv, "key-id", s.KeyID, "public-key", s.PublicKey)
	} else {
		kv = append(kv, "certificate-identity", s.Identity, "certificate-oidc-issuer", s.Issuer)
	}
	if err := o.setOutputs(append(kv, "log-index", strings.Join(r.Indexes, "\n"), "verify-command", verifyCmd)...); err != nil {
		return err
	}
	if c.Key {
		o.addSummary(func() string { return KeySummary(r.Signed, r.NotSigned(), s.Tenant, s.KeyID, verifyCmd) })
		fmt.Fprintf(stdout, "key id: %s\ntenant: %s\nverify with: %s\n", s.KeyID, s.Tenant, verifyCmd)
	} else {
		o.addSummary(func() string { return SignSummary(r.Signed, r.Failed, s.Identity, s.Issuer, verifyCmd) })
		fmt.Fprintf(stdout, "certificate identity: %s\nissuer: %s\nverify with: %s\n", s.Identity, s.Issuer, verifyCmd)
	}
	return r.Err()
}

// first is s's first element, else "" (Check's default).
func first(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

// Attestation is what a cachet attest run reports: keyless, the certificate's identity
// and issuer; key mode (Check.Key), the key and the tenant.
type Attestation struct {
	Subjects []attest.Subject
	Digest   string // the attestation's digest (the statement's, or the referrer's)
	LogIndex int64
	GitHubID string // the id in the GitHub attestations API, when published there
	Signer
	// Check is how to verify it: Bundle, Artifact and PredicateType are set.
	Check Check
}

// Publish writes the step outputs and (keyless) the job summary o allows, then on
// stdout who signed, the digest and the command that checks it.
func (a Attestation) Publish(stdout io.Writer, o Actions) error {
	verifyCmd := a.Check.Command()
	kv := []string{"bundle-path", a.Check.Bundle, "attestation-digest", a.Digest}
	if a.Check.Key {
		kv = append(kv, "key-id", a.KeyID)
	} else {
		kv = append(kv, "certificate-identity", a.Identity, "certificate-oidc-issuer", a.Issuer)
	}
	kv = append(kv, "log-index", strconv.FormatInt(a.LogIndex, 10), "verify-command", verifyCmd, "attestation-id", a.GitHubID)
	if err := o.setOutputs(kv...); err != nil {
		return err
	}
	if a.Check.Key {
		fmt.Fprintf(stdout, "key id: %s\ntenant: %s\n", a.KeyID, a.Tenant)
	} else {
		o.addSummary(func() string {
			return AttestSummary(a.Subjects, a.Check.PredicateType, a.Check.Bundle, a.Identity, verifyCmd)
		})
		fmt.Fprintf(stdout, "certificate identity: %s\nissuer: %s\n", a.Identity, a.Issuer)
	}
	fmt.Fprintf(stdout, "attestation digest: %s\n", a.Digest)
	if a.GitHubID != "" {
		fmt.Fprintf(stdout, "github attestation id: %s\n", a.GitHubID)
	}
	fmt.Fprintf(stdout, "verify with: %s\n", verifyCmd)
	return nil
}

// Release is what a cachet release run reports.
type Release struct {
	Tag, Repo        string
	Result           *release.Result
	Identity, Issuer string
}

// Publish writes the counts and the identity on stdout, then the step outputs o
// allows. The error is the run's (release.Result.Err) unless the outputs could not
// be written.
func (r Release) Publish(stdout io.Writer, o Actions) error {
	res := r.Result
	fmt.Fprintf(stdout, "release %s of %s: %d bundles uploaded, %d replaced, %d kept, %d failed of %d assets\ncertificate identity: %s\nissuer: %s\n",
		r.Tag, r.Repo, res.Uploaded, res.Replaced, res.Kept, len(res.Failed), res.Assets, r.Identity, r.Issuer)
	if err := o.setOutputs("certificate-identity", r.Identity, "certificate-oidc-issuer", r.Issuer,
		"uploaded", strconv.Itoa(res.Uploaded+res.Replaced), "kept", strconv.Itoa(res.Kept)); err != nil {
		return err
	}
	return res.Err()
}
