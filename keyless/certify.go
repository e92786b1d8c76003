package keyless

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"
)

// Certifier turns a token into a certified ephemeral signer.
type Certifier struct {
	Verifier     *Verifier
	ServerURL    string // GitHub server for URLs in the identity; DefaultServerURL when empty
	Expectations Expectations
	Fulcio       *Fulcio
	Now          func() time.Time
}

// Certified is an ephemeral key with its Fulcio certificate. The key lives only in
// memory; it is never serialised.
type Certified struct {
	Signer   crypto.Signer
	Chain    []*x509.Certificate // leaf first
	Identity *Identity
	Claims   *Claims
}

// Certify verifies the token, derives the identity, checks the expectations, makes an
// ECDSA P-256 key and has Fulcio certify it, then checks the certificate says exactly
// the derived identity. Refusals are *RefusalError.
func (c *Certifier) Certify(ctx context.Context, token string) (*Certified, error) {
	claims, err := c.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	id, err := DeriveIdentity(claims, c.ServerURL)
	if err != nil {
		return nil, err
	}
	if err := c.Expectations.Check(claims); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	chain, err := c.Fulcio.Certificate(ctx, token, id.Subject, key)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if err := CheckCertificate(chain[0], key.Public(), id, now); err != nil {
		return nil, err
	}
	if len(chain) > 1 {
		if err := chain[0].CheckSignatureFrom(chain[1]); err != nil {
			return nil, fmt.Errorf("%w: leaf is not signed by the next certificate in the chain", ErrCertificateMismatch)
		}
	}
	return &Certified{Signer: key, Chain: chain, Identity: id, Claims: claims}, nil
}
