package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
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
	defer kp.Key.Close()
	p, k := kp.Pipeline, kp.Key
	rep := runSubjects(ctx, e, p, subjects, f, func(err error) bool { return errors.Is(err, policy.ErrRefused) })

	pubPEM, err := k.PublicPEM()
	if err != nil {
		return err
	}
	verifyCmd := report.Check{Key: true, Bundle: firstOr(rep.Bundles), Artifact: firstOr(rep.Artifacts), TrustedRoot: f.trustedRoot, TLog: f.tlogUpload}.Command()
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := report.SetOutputs(a, "bundle-paths", strings.Join(rep.Bundles, "\n"), "key-id", k.ID, "public-key", string(pubPEM),
			"log-index", strings.Join(rep.Indexes, "\n"), "verify-command", verifyCmd); err != nil {
			return err
		}
	}
	if e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(report.KeySummary(rep.Signed, rep.NotSigned(), f.tenant, k.ID, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "key id: %s\ntenant: %s\nverify with: %s\n", k.ID, f.tenant, verifyCmd)
	return rep.Err()
}

// keyPipeline sets up key mode for sign and attest (sign.NewKeyMode): the job's
// verified token for the principal, the policy (only a root-owned one in policy.Dir),
// the key (PIN masked); refusals are audited. Errors get their flag names here.
func keyPipeline(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*sign.KeyMode, error) {
	opts := keys.Options{Getenv: e.getenv, Scheme: keys.Scheme(f.rsaScheme)}
	if e.inActions() {
		opts.Mask = e.action().AddMask
	}
	km, err := sign.NewKeyMode(ctx, sign.KeyModeOptions{
		Token:  func(ctx context.Context) (string, error) { return loadToken(ctx, f.identityToken, e) },
		Issuer: f.issuer, PolicyPath: f.policyFile, Tenant: f.tenant, Key: f.key, KeyOptions: opts,
		Services: f.services(), TLogUpload: f.tlogUpload, Trusted: tr, Audit: al,
	})
	switch {
	case errors.Is(err, sign.ErrKeyNeedsTimestamp):
		return nil, usagef("key mode needs --timestamp-server-url: a key bundle has no certificate, so only an RFC 3161 timestamp says when it was signed")
	case errors.Is(err, sign.ErrNoTenant):
		return nil, usagef("key mode needs --tenant NAME: the policy's tenant whose key signs")
	case errors.Is(err, sign.ErrPolicy):
		return nil, usagef("%v", err)
	case errors.Is(err, keys.ErrURI) || errors.Is(err, keys.ErrNoPKCS11) || errors.Is(err, keys.ErrPINSource):
		return nil, usagef("--%v", err)
	case errors.Is(err, sign.ErrKeyOpen):
		return nil, fmt.Errorf("--%w", err)
	}
	return km, tokenHint(err)
}
