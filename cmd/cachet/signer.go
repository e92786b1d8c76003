package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// newSigner sets up the run's signer from the flags (sign.NewSigner) for sign, attest
// and release: keyless, a Fulcio certificate for the job's verified identity; or key
// mode (--key), a key from an HSM (or a PEM file) with the signing policy instead of
// Fulcio deciding who may sign (only a root-owned policy in policy.Dir; the PIN
// masked). Refusals are audited in --audit-log, which it opens; done closes the key
// and the log. Errors get their flag names here.
func newSigner(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot) (s *sign.Signer, done func(), err error) {
	al, closeAudit, err := audit.Open(f.auditLog, e.stderr)
	if err != nil {
		return nil, nil, usagef("--audit-log: %v", err)
	}
	defer func() {
		if err != nil {
			closeAudit()
		}
	}()
	ko := keys.Options{Getenv: e.getenv, Scheme: keys.Scheme(f.rsaScheme), Mask: e.mask()}
	s, err = sign.NewSigner(ctx, sign.SignerOptions{
		Token:  func(ctx context.Context) (string, error) { return loadToken(ctx, f.identityToken, e) },
		Issuer: f.issuer, Services: f.setup.Services, Trusted: tr, Audit: al,
		ServerURL: f.serverURL, IgnoreSCT: f.ignoreSCT,
		Expectations: keyless.Expectations{Repository: f.expRepo, Ref: f.expRef, Workflow: f.expWorkflow,
			AllowSelfHosted: f.allowSelfHosted, AllowedEvents: keyless.ParseEvents(f.allowedEvents)},
		Key: f.key, KeyOptions: ko, PolicyPath: f.policyFile, Tenant: f.tenant, TLogUpload: f.tlogUpload,
	})
	switch {
	case errors.Is(err, sign.ErrKeyNeedsTimestamp):
		return nil, nil, usagef("key mode needs --timestamp-server-url: a key bundle has no certificate, so only an RFC 3161 timestamp says when it was signed")
	case errors.Is(err, sign.ErrNoTenant):
		return nil, nil, usagef("key mode needs --tenant NAME: the policy's tenant whose key signs")
	case errors.Is(err, sign.ErrPolicy):
		return nil, nil, usagef("%v", err)
	case errors.Is(err, keys.ErrURI) || errors.Is(err, keys.ErrNoPKCS11) || errors.Is(err, keys.ErrPINSource):
		return nil, nil, usagef("--%v", err)
	case errors.Is(err, sign.ErrKeyOpen):
		return nil, nil, fmt.Errorf("--%w", err)
	}
	if err != nil {
		return nil, nil, tokenHint(err)
	}
	return s, func() { s.Close(); closeAudit() }, nil
}

// loadToken is keyless.Token with the flag named: the identity token from the flag (a
// JWT or @FILE), else requested from the runner, masked in Actions before anything
// else can print it.
func loadToken(ctx context.Context, flagVal string, e *env) (string, error) {
	tok, err := keyless.Token(ctx, flagVal, &http.Client{Timeout: 30 * time.Second}, e.getenv)
	var tfe *keyless.TokenFileError
	if errors.As(err, &tfe) {
		return "", usagef("--identity-token: %v", tfe.Err)
	}
	if mask := e.mask(); mask != nil && tok != "" {
		mask(tok)
	}
	return tok, err
}

// tokenHint adds to a refused token (or an issuer Fulcio refuses) the flags that fix
// it; the refusal stays one.
func tokenHint(err error) error {
	switch {
	case errors.Is(err, keyless.ErrNoTokenPermission):
		return fmt.Errorf("%w (or pass --identity-token for local use)", err)
	case errors.Is(err, keyless.ErrIssuerNotConfigured):
		return fmt.Errorf("%w; set --oidc-issuer to the job's issuer", err)
	case errors.Is(err, keyless.ErrIssuerNotAccepted):
		return fmt.Errorf("%w; name one with --fulcio-url or --signing-config, or sign in key mode (--key)", err)
	}
	return err
}
