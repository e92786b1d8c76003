package verify

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// keyVerifier verifies key-mode blob signatures. Blob bundles carry a SHA-256 message
// digest and are signed over it whatever the key: cosign verify-blob --key loads every
// key with crypto.SHA256 (cmd/cosign/cli/verify/verify_blob.go, HashAlgorithm's
// default), so a P-384 key verifies a SHA-256 digest here too, as it does there.
//
// A bundle does not say which RSA scheme signed (publicKey is only a hint), so an RSA
// key accepts RSASSA-PKCS1-v1_5, what cosign expects, and RSASSA-PSS with SHA-256 and
// any salt length, what cachet sign --rsa-scheme pss writes. Both are sound schemes for
// the same key; the policy names the key, not the padding.
func keyVerifier(k crypto.PublicKey) (signature.Verifier, error) {
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return signature.LoadVerifier(k, crypto.SHA256)
	}
	pkcs1, err := signature.LoadRSAPKCS1v15Verifier(rk, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &rsaEither{pkcs1: pkcs1, pub: rk}, nil
}

type rsaEither struct {
	pkcs1 signature.Verifier
	pub   *rsa.PublicKey
}

func (r *rsaEither) PublicKey(opts ...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return r.pub, nil
}

func (r *rsaEither) VerifySignature(sig, message io.Reader, opts ...signature.VerifyOption) error {
	var digest []byte
	for _, o := range opts {
		o.ApplyDigest(&digest)
	}
	if digest == nil {
		h := sha256.New()
		if _, err := io.Copy(h, message); err != nil {
			return err
		}
		digest = h.Sum(nil)
	}
	if len(digest) != sha256.Size {
		return fmt.Errorf("rsa: digest is %d bytes, want SHA-256", len(digest))
	}
	s, err := io.ReadAll(io.LimitReader(sig, 1<<16))
	if err != nil {
		return err
	}
	if r.pkcs1.VerifySignature(bytes.NewReader(s), nil, options.WithDigest(digest)) == nil {
		return nil
	}
	if rsa.VerifyPSS(r.pub, crypto.SHA256, digest, s, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil {
		return nil
	}
	return errors.New("rsa: signature verifies neither as PKCS#1 v1.5 nor as PSS with SHA-256")
}
