package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// DevChain is a development TSA: a root CA and a TSA certificate it signed, with the
// TSA's ECDSA P-256 key. Never use it for anything a user relies on.
type DevChain struct {
	Root    *x509.Certificate
	Leaf    *x509.Certificate
	Key     *ecdsa.PrivateKey // the TSA's key
	RootKey *ecdsa.PrivateKey // not written by Write; kept to issue more certificates
}

// NewDevChain makes a development chain valid from now-1h for ten years (root) and
// five years (TSA certificate). rnd is crypto/rand's reader when nil.
func NewDevChain(rnd io.Reader, now time.Time) (*DevChain, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, err
	}
	serial := func() (*big.Int, error) {
		return rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 127))
	}
	rs, err := serial()
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          rs,
		Subject:               pkix.Name{CommonName: "cachet development TSA root", Organization: []string{"cachet (development only)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	rootDER, err := x509.CreateCertificate(rnd, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	ls, err := serial()
	if err != nil {
		return nil, err
	}
	eku, err := TimeStampingEKU()
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          ls,
		Subject:               pkix.Name{CommonName: "cachet development TSA", Organization: []string{"cachet (development only)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{eku},
	}
	leafDER, err := x509.CreateCertificate(rnd, leafTmpl, root, leafKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	return &DevChain{Root: root, Leaf: leaf, Key: leafKey, RootKey: rootKey}, nil
}

// TimeStampingEKU is the extension a TSA certificate needs (RFC 3161 section 2.3):
// extended key usage id-kp-timeStamping alone, critical. crypto/x509 marks the
// ExtKeyUsage field non-critical, so certificates carry this in ExtraExtensions.
func TimeStampingEKU() (pkix.Extension, error) {
	v, err := asn1.Marshal([]asn1.ObjectIdentifier{oidEKUTimeStamping})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidEKU, Critical: true, Value: v}, nil
}

// Chain returns the chain leaf first, as Config.Chain wants it.
func (d *DevChain) Chain() []*x509.Certificate { return []*x509.Certificate{d.Leaf, d.Root} }

// Signer returns the TSA key.
func (d *DevChain) Signer() crypto.Signer { return d.Key }

// Write stores root.pem, chain.pem (leaf first, then root), cert.pem (the leaf) and
// key.pem (PKCS#8, mode 0600) in dir.
func (d *DevChain) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(d.Key)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{"key.pem", 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})},
		{"root.pem", 0o644, EncodeChain(d.Root)},
		{"cert.pem", 0o644, EncodeChain(d.Leaf)},
		{"chain.pem", 0o644, EncodeChain(d.Chain()...)},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("tsa: dev chain: %w", err)
		}
	}
	return nil
}

// writeFile sets the mode before writing: an existing file keeps its mode under
// os.WriteFile, and a key must never sit in a world-readable file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// EncodeChain returns certificates as concatenated PEM.
func EncodeChain(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
