package main

import (
	"context"
	"errors"
	"fmt"

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
	r := report.Signing{Report: rep, KeyID: k.ID, PublicKey: string(pubPEM), Tenant: f.tenant,
		Check: report.Check{Key: true, TrustedRoot: f.trustedRoot, TLog: f.tlogUpload}}
	return r.Publish(e.stdout, e.outputs(true)) // key mode has always written its summary
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
		Services: f.svc, TLogUpload: f.tlogUpload, Trusted: tr, Audit: al,
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
