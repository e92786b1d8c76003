package sign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Key-mode set-up errors, before anything is signed; callers add their flag names.
var (
	// ErrKeyNeedsTimestamp: a key bundle has no certificate, so only an RFC 3161
	// timestamp says when it was signed.
	ErrKeyNeedsTimestamp = errors.New("key mode needs a timestamp authority: a key bundle has no certificate, so only an RFC 3161 timestamp says when it was signed")
	// ErrNoTenant: the policy's tenant whose key signs was not named.
	ErrNoTenant = errors.New("key mode needs the tenant whose key signs (the signing policy's tenant)")
	// ErrKeyOpen: the key could not be opened (keys.ErrURI, keys.ErrNoPKCS11 and
	// keys.ErrPINSource inside are the caller's to fix).
	ErrKeyOpen = errors.New("key")
	// ErrPolicy: the signing policy could not be read or parsed.
	ErrPolicy = errors.New("signing policy")
)

// KeyModeOptions set up a key-mode run.
type KeyModeOptions struct {
	Token      func(context.Context) (string, error) // the job's OIDC token (the caller masks it)
	Issuer     string                                // the token's issuer
	PolicyPath string                                // key-mode signing policy, loaded only from policy.Dir (policy.Load)
	Tenant     string
	Key        string       // a PKCS#11 URI or a PEM file
	KeyOptions keys.Options // PIN sources (Getenv), masking, RSA scheme
	Services   Services     // TSAs (required); the log when TLogUpload
	TLogUpload bool
	Trusted    *root.TrustedRoot
	Audit      *audit.Logger
	HTTPClient *http.Client // for the issuer and TSAs; nil: one with a 30 s timeout
}

// KeyMode is one key-mode run: the pipeline (the key's signer, its hint, the policy's
// decision per digest), the open key (Close it) and the verified claims the principal
// came from.
type KeyMode struct {
	Pipeline *Pipeline
	Key      *keys.Key
	Claims   *keyless.Claims
}

// NewKeyMode verifies the job's token for its principal (never an input the workflow
// sets), loads the signing policy (only a root-owned one in policy.Dir), opens the key
// and assembles the pipeline that signs with it when the policy allows each digest.
// Refusals are audited as codesign.refused and returned as ErrRefused.
func NewKeyMode(ctx context.Context, o KeyModeOptions) (*KeyMode, error) {
	switch {
	case len(o.Services.TSAURLs) == 0:
		return nil, ErrKeyNeedsTimestamp
	case o.Tenant == "":
		return nil, ErrNoTenant
	}
	if err := o.Services.Check(o.TLogUpload); err != nil {
		return nil, err
	}
	refuse := func(principal, keyID string, err error) error {
		if aerr := o.Audit.Log(audit.Event{Event: "codesign.refused", Tenant: o.Tenant, Principal: principal, KeyID: keyID, Reason: err.Error()}); aerr != nil {
			return fmt.Errorf("audit log: %w (after refusing: %v)", aerr, err)
		}
		return Refuse(err)
	}
	token, err := o.Token(ctx)
	if errors.Is(err, keyless.ErrNoTokenPermission) {
		return nil, refuse("", "", err)
	}
	if err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: httpretry.KeepAlive, Timeout: 30 * time.Second}
	}
	claims, err := (&keyless.Verifier{Issuer: o.Issuer, HTTPClient: hc}).Verify(ctx, token)
	if err != nil {
		if isTokenRefusal(err) {
			return nil, refuse("", "", err)
		}
		return nil, err
	}
	principal := policy.FromClaims(claims)
	pol, err := policy.Load(o.PolicyPath)
	if errors.Is(err, policy.ErrUntrusted) {
		return nil, refuse(principal.String(), "", err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	// The key. Its PIN is masked before use and never in an error.
	k, err := keys.Open(o.Key, o.KeyOptions)
	if err != nil {
		if aerr := o.Audit.Log(audit.Event{Event: "codesign.failed", Tenant: o.Tenant, Principal: principal.String(), Reason: err.Error()}); aerr != nil {
			return nil, fmt.Errorf("audit log: %w (after: %v)", aerr, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrKeyOpen, err)
	}
	check, err := KeyCheck(o.Trusted, k.Signer.Public(), keys.IsPSS(k.Signer), len(o.Services.TSAURLs), o.TLogUpload)
	if err != nil {
		k.Close()
		return nil, err
	}
	p := &Pipeline{
		Signer: k.Signer, KeyHint: k.ID,
		TSA:    o.Services.TSA(o.Trusted, hc),
		Verify: check, Audit: o.Audit,
		Authorize: func(digest []byte) error { return pol.MaySign(o.Tenant, principal, k.ID, digest) },
		Tenant:    o.Tenant, Principal: principal.String(),
	}
	if o.TLogUpload {
		p.Rekor = o.Services.Log(o.Trusted)
	}
	return &KeyMode{Pipeline: p, Key: k, Claims: claims}, nil
}
