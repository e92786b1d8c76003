package sign

import (
	"context"
	"errors"
	"net/http"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// SignerOptions set up a run's signer: keyless (a Fulcio certificate), or key mode when
// Key is set (a key the signing policy gates). Either way the job's verified token
// names the run. The fields are KeylessOptions' and KeyModeOptions', so a command
// fills one struct whichever mode its flags chose.
type SignerOptions struct {
	Token      func(context.Context) (string, error) // the job's OIDC token (the caller masks it)
	Issuer     string                                // the token's issuer: its keys verify it
	Services   Services
	Trusted    *root.TrustedRoot
	Audit      *audit.Logger
	HTTPClient *http.Client // nil: one with a 30 s timeout
	// Keyless: the GitHub server whose URLs name workflows, what the token must say,
	// and whether the self-check accepts a certificate without a valid SCT.
	ServerURL    string
	Expectations keyless.Expectations
	IgnoreSCT    bool
	// Key mode: the key (a PKCS#11 URI or a PEM file) and how to open it, the signing
	// policy and its tenant whose key signs, and whether Rekor records the signature.
	Key        string
	KeyOptions keys.Options
	PolicyPath string
	Tenant     string
	TLogUpload bool
}

// Signer is one run's signer: the pipeline every subject shares and the verified
// claims the run came from (attest builds provenance from them); keyless, the
// certified Identity; key mode, the open Key (Close it).
type Signer struct {
	Pipeline *Pipeline
	Claims   *keyless.Claims
	Identity *keyless.Identity // keyless; nil in key mode
	Key      *keys.Key         // key mode; nil keyless
}

// NewSigner is NewKeyless, or NewKeyMode when o.Key is set; their errors unchanged.
func NewSigner(ctx context.Context, o SignerOptions) (*Signer, error) {
	if o.Key == "" {
		k, err := NewKeyless(ctx, KeylessOptions{Token: o.Token, Issuer: o.Issuer, ServerURL: o.ServerURL,
			Expectations: o.Expectations, Services: o.Services, Trusted: o.Trusted, IgnoreSCT: o.IgnoreSCT,
			Audit: o.Audit, HTTPClient: o.HTTPClient})
		if err != nil {
			return nil, err
		}
		return &Signer{Pipeline: k.Pipeline, Claims: k.Claims, Identity: k.Identity}, nil
	}
	km, err := NewKeyMode(ctx, KeyModeOptions{Token: o.Token, Issuer: o.Issuer, PolicyPath: o.PolicyPath,
		Tenant: o.Tenant, Key: o.Key, KeyOptions: o.KeyOptions, Services: o.Services, TLogUpload: o.TLogUpload,
		Trusted: o.Trusted, Audit: o.Audit, HTTPClient: o.HTTPClient})
	if err != nil {
		return nil, err
	}
	return &Signer{Pipeline: km.Pipeline, Claims: km.Claims, Key: km.Key}, nil
}

// Close closes the key (key mode); keyless has nothing to close.
func (s *Signer) Close() error { return s.Key.Close() }

// IsRefusal says whether a subject's error is the signing policy refusing its digest
// (key mode), for NewReport: a refusal, not a failure. Keyless has no per-subject
// refusal.
func (s *Signer) IsRefusal(err error) bool { return s.Key != nil && errors.Is(err, policy.ErrRefused) }
