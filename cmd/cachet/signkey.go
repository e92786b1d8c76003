package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// signWithKey is key mode: the same pipeline as keyless, with a key from an HSM (or a
// PEM file) instead of a Fulcio certificate, and the signing policy instead of Fulcio
// deciding who may sign. The job's identity still comes from its verified OIDC token.
func signWithKey(ctx context.Context, e *env, f *signFlags, subjects []sign.Subject, tr *root.TrustedRoot, al *audit.Logger) error {
	a := e.action()
	kp, err := keyPipeline(ctx, e, f, tr, al)
	if err != nil {
		return err
	}
	defer kp.key.Close()
	p, k := kp.p, kp.key
	rep := runSubjects(ctx, e, p, subjects, f, func(err error) bool { return errors.Is(err, policy.ErrRefused) })
	bundles, indexes, signed := rep.bundles, rep.indexes, rep.signed

	pubPEM, err := k.PublicPEM()
	if err != nil {
		return err
	}
	verifyCmd := fmt.Sprintf("cosign verify-blob --key KEY.pub --bundle %s --trusted-root %s", shellQuote(firstOr(bundles, "ARTIFACT.sigstore.json")), shellQuote(f.trustedRoot))
	if !f.tlogUpload {
		verifyCmd += " --insecure-ignore-tlog"
	}
	verifyCmd += " " + shellQuote(firstOr(rep.artifacts, "ARTIFACT"))
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "bundle-paths", strings.Join(bundles, "\n"), "key-id", k.ID, "public-key", string(pubPEM),
			"log-index", strings.Join(indexes, "\n"), "verify-command", verifyCmd); err != nil {
			return err
		}
	}
	if e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(keySummary(signed, append(append([]string{}, rep.refused...), rep.failed...), f.tenant, k.ID, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "key id: %s\ntenant: %s\nverify with: %s\n", k.ID, f.tenant, verifyCmd)
	return rep.err(len(subjects))
}

// keyed is key mode's share of a run: the pipeline (key signer, key hint, policy check),
// the open key, and the verified claims the principal came from.
type keyed struct {
	p      *sign.Pipeline
	key    *keys.Key
	claims *keyless.Claims
}

// keyPipeline sets up key mode for sign and attest: it checks the flags, loads the
// policy (only a root-owned one in policy.Dir), verifies the job's token for the principal, opens
// the key (PIN masked) and returns the pipeline that signs with it. Refusals are audited.
func keyPipeline(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*keyed, error) {
	a := e.action()
	switch {
	case len(f.tsaURLs) == 0:
		return nil, usagef("key mode needs --timestamp-server-url: a key bundle has no certificate, so only an RFC 3161 timestamp says when it was signed")
	case f.tenant == "":
		return nil, usagef("key mode needs --tenant NAME: the policy's tenant whose key signs")
	}
	refuse := func(principal, keyID string, err error) error {
		if aerr := al.Log(audit.Event{Event: "codesign.refused", Tenant: f.tenant, Principal: principal, KeyID: keyID, Reason: err.Error()}); aerr != nil {
			return fmt.Errorf("audit log: %w (after refusing: %v)", aerr, err)
		}
		return &refusedError{err}
	}

	// Identity: the verified token, as in keyless mode; never an input the workflow sets.
	token, err := loadToken(ctx, f.identityToken, e)
	if errors.Is(err, keyless.ErrNoTokenPermission) {
		return nil, refuse("", "", err)
	}
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	claims, err := (&keyless.Verifier{Issuer: f.issuer, HTTPClient: hc}).Verify(ctx, token)
	if err != nil {
		if errors.Is(err, keyless.ErrTokenInvalid) || errors.Is(err, keyless.ErrIssuerNotConfigured) || errors.Is(err, keyless.ErrMalformedToken) {
			return nil, refuse("", "", err)
		}
		return nil, err
	}
	principal := policy.FromClaims(claims)
	// The policy: only from the directory cachet was built with, and only when root
	// alone could have written it (policy.Load checks); never from where the job points.
	pol, err := policy.Load(f.policyFile)
	if errors.Is(err, policy.ErrUntrusted) {
		return nil, refuse(principal.String(), "", err)
	}
	if err != nil {
		return nil, usagef("signing policy: %v", err)
	}

	// The key. Its PIN is masked before use and never in an error.
	opts := keys.Options{Getenv: e.getenv, Scheme: keys.Scheme(f.rsaScheme)}
	if e.inActions() {
		opts.Mask = a.AddMask
	}
	k, err := keys.Open(f.key, opts)
	if err != nil {
		if aerr := al.Log(audit.Event{Event: "codesign.failed", Tenant: f.tenant, Principal: principal.String(), Reason: err.Error()}); aerr != nil {
			return nil, fmt.Errorf("audit log: %w (after: %v)", aerr, err)
		}
		if errors.Is(err, keys.ErrURI) || errors.Is(err, keys.ErrNoPKCS11) || errors.Is(err, keys.ErrPINSource) {
			return nil, usagef("--key: %v", err)
		}
		return nil, fmt.Errorf("--key: %w", err)
	}
	check, err := sign.KeyCheck(tr, k.Signer.Public(), keys.IsPSS(k.Signer), len(f.tsaURLs), f.tlogUpload)
	if err != nil {
		k.Close()
		return nil, err
	}
	p := &sign.Pipeline{
		Signer: k.Signer, KeyHint: k.ID,
		TSA:    &tsa.Client{URLs: f.tsaURLs, Mode: tsa.All, Trusted: tr.TimestampingAuthorities(), HTTPClient: hc},
		Verify: check, Audit: al,
		Authorize: func(digest []byte) error { return pol.MaySign(f.tenant, principal, k.ID, digest) },
		Tenant:    f.tenant, Principal: principal.String(),
	}
	if f.tlogUpload {
		p.Rekor = f.transparencyLog(tr)
	}
	return &keyed{p: p, key: k, claims: claims}, nil
}

func keySummary(signed []sign.Result, notSigned []string, tenant, keyID, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet sign (key mode): %d signed, %d not signed\n\nTenant `%s`, key `%s`\n\n", len(signed), len(notSigned), mdEscape(tenant), mdEscape(keyID))
	if len(signed) > 0 {
		b.WriteString("| artifact | sha256 | bundle |\n| --- | --- | --- |\n")
		for _, r := range signed {
			fmt.Fprintf(&b, "| `%s` | `%x` | `%s` |\n", mdEscape(r.Subject.Name), r.Digest, mdEscape(r.Subject.Bundle))
		}
	}
	for _, n := range notSigned {
		fmt.Fprintf(&b, "\n❌ %s\n", mdEscape(n))
	}
	fmt.Fprintf(&b, "\nVerify:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}
