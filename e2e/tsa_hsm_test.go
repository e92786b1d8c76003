//go:build cgo

package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/softhsmtest"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestTSAServeWithPKCS11Key: `cachet tsa serve --key pkcs11:...` signs tokens with a key
// held in a real SoftHSM2 token; our client verifies them up to the dev root, and the
// server refuses to start when the chain does not certify the HSM key.
func TestTSAServeWithPKCS11Key(t *testing.T) {
	ws := t.TempDir()
	tok := softhsmtest.New(t, t.TempDir(), "tsa", "tsa-pin-1618")
	if err := tok.Generate(map[string]softhsmtest.Kind{"tsa-key": softhsmtest.P256}); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	uri := tok.URI("tsa-key")
	pub := run(t, ws, env, cachetBin, "key", "public", "--key", uri)
	if pub.code != 0 {
		t.Fatalf("key public: %s", pub.stderr)
	}
	hsmPub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pub.stdout))
	if err != nil {
		t.Fatal(err)
	}
	// A TSA leaf for the HSM key, issued by a development root.
	dev, err := tsa.NewDevChain(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	eku, err := tsa.TimeStampingEKU()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: dev.Leaf.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{eku}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, dev.Root, hsmPub, dev.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	chain := filepath.Join(ws, "chain.pem")
	os.WriteFile(chain, tsa.EncodeChain(leaf, dev.Root), 0o644)
	devChain := filepath.Join(ws, "dev-chain.pem") // certifies another key
	os.WriteFile(devChain, tsa.EncodeChain(dev.Leaf, dev.Root), 0o644)

	if r := run(t, ws, env, cachetBin, "tsa", "serve", "--addr", "127.0.0.1:0", "--key", uri, "--chain", devChain,
		"--state", filepath.Join(ws, "state0")); r.code == 0 || strings.Contains(r.stdout+r.stderr, tok.PIN) ||
		!strings.Contains(r.stderr, "certificate chain refused: the signing key does not match the TSA certificate") {
		t.Fatalf("served with a chain that does not certify the HSM key (exit %d) or leaked the PIN: %s %s", r.code, r.stdout, r.stderr)
	}

	url := serveTSA(t, env, "--key", uri, "--chain", chain, "--state", filepath.Join(ws, "state"))
	c := &tsa.Client{URLs: []string{url + "/api/v1/timestamp"},
		Trusted: []root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: dev.Root, Leaf: leaf}}}
	sig := sha256.Sum256([]byte("a signature to timestamp"))
	toks, err := c.Timestamp(t.Context(), sig[:])
	if err != nil || len(toks) != 1 {
		t.Fatalf("token from the HSM-backed TSA: %v", err)
	}
}
