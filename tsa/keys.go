package tsa

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrBadChain means a TSA certificate chain is not fit to issue tokens.
var ErrBadChain = errors.New("tsa: certificate chain refused")

// ErrKeyMismatch is the ErrBadChain of a signing key the chain's leaf does not certify:
// the key and the chain were given for different authorities.
var ErrKeyMismatch = errors.New("the signing key does not match the TSA certificate")

// LoadSigner reads a private key from a PEM file: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). Encrypted PEM is refused.
func LoadSigner(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tsa: signing key: %w", err)
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("tsa: signing key %s: no PEM private key block", path)
		}
		var k any
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("tsa: signing key %s is encrypted: decrypt it (openssl pkey) or use a PKCS#11 key", path)
		default:
			continue // e.g. "EC PARAMETERS" before the key
		}
		if err != nil {
			return nil, fmt.Errorf("tsa: signing key %s: %w", path, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("tsa: signing key %s: %T cannot sign", path, k)
		}
		return s, nil
	}
}

// LoadChain reads PEM certificates, leaf first.
func LoadChain(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tsa: certificate chain: %w", err)
	}
	certs, err := ParseChain(b)
	if err != nil {
		return nil, fmt.Errorf("tsa: certificate chain %s: %w", path, err)
	}
	return certs, nil
}

// ParseChain parses PEM certificates in order.
func ParseChain(pemBytes []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return certs, nil
}

// CheckChain refuses a chain that verifiers would refuse (RFC 3161 section 2.3): the
// leaf must have exactly one extended key usage, id-kp-timeStamping, marked critical;
// its public key must be pub; and the chain must verify, as of now, to its last
// certificate as the root.
func CheckChain(chain []*x509.Certificate, pub crypto.PublicKey, now func() time.Time) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: empty: give the TSA certificate first, then intermediates and the root", ErrBadChain)
	}
	leaf := chain[0]
	critical := false
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidEKU) {
			critical = ext.Critical
		}
	}
	if n := len(leaf.ExtKeyUsage) + len(leaf.UnknownExtKeyUsage); n != 1 || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		return fmt.Errorf("%w: the TSA certificate %q must have exactly one extended key usage, timeStamping (it has %d)", ErrBadChain, leaf.Subject, n)
	}
	if !critical {
		return fmt.Errorf("%w: the TSA certificate %q must mark its extended key usage critical", ErrBadChain, leaf.Subject)
	}
	k, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(leaf.PublicKey) {
		return fmt.Errorf("%w: %w %q", ErrBadChain, ErrKeyMismatch, leaf.Subject)
	}
	root := chain[len(chain)-1]
	if err := root.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("%w: the last certificate %q is not a self-signed root: append the root", ErrBadChain, root.Subject)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	if len(chain) > 2 {
		for _, c := range chain[1 : len(chain)-1] {
			inter.AddCert(c)
		}
	}
	t := time.Now()
	if now != nil {
		t = now()
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		CurrentTime:   t,
	}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadChain, err)
	}
	return nil
}
