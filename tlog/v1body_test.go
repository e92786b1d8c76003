package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag"
	"github.com/sigstore/rekor/pkg/generated/models"
	hashedrekord "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// TestHashedRekordBodyMatchesRekor: the body built by hand is, byte for byte, what
// rekor's hashedrekord v0.0.1 Canonicalize stores, and, read as Rekor's API reads a
// request (models.UnmarshalProposedEntry), the proposed models.Hashedrekord, for P-256
// certificates and RSA public keys and many digests and signatures.
func TestHashedRekordBodyMatchesRekor(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, err := cryptoutils.MarshalPublicKeyToPEM(rk.Public())
	if err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name   string
		signer crypto.Signer
		pem    []byte
	}{
		{"p256 certificate", ec, cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, selfSigned(t, ec))},
		{"rsa public key", rk, rsaPEM},
	}
	for _, k := range keys {
		for i := range 8 {
			digest := sha256.Sum256([]byte(k.name + strconv.Itoa(i)))
			sig, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			r := HashedRekord{Digest: digest[:], Signature: sig, PublicPEM: k.pem}
			got := HashedRekordBody(r.Digest, r.Signature, r.PublicPEM)
			if cap(got) != len(got) {
				t.Errorf("%s %d: body sized %d for %d bytes", k.name, i, cap(got), len(got))
			}
			proposed := proposedHashedRekord(r)
			want, err := json.Marshal(proposed)
			if err != nil {
				t.Fatal(err)
			}
			read, err := models.UnmarshalProposedEntry(bytes.NewReader(got), runtime.JSONConsumer())
			if err != nil {
				t.Fatal(err)
			}
			if reread, err := json.Marshal(read); err != nil || !bytes.Equal(reread, want) {
				t.Fatalf("%s %d: body read as a request\n%s\nthe proposed model\n%s (%v)", k.name, i, reread, want, err)
			}
			var e hashedrekord.V001Entry
			if err := e.Unmarshal(proposed); err != nil {
				t.Fatal(err)
			}
			canon, err := e.Canonicalize(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, canon) {
				t.Fatalf("%s %d: body\n%s\nrekor's canonical body\n%s", k.name, i, got, canon)
			}
		}
	}
}

// selfSigned is a minimal self-signed certificate for key's public key, DER.
func selfSigned(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestHashedRekordBodyMatchesLoggedBodies: byte for byte, the body is what the
// public-good Rekor logged for the sigstore-conformance bundles of
// testdata/conformance, and the local stack's Rekor for those of testdata/verify (rekor's own Canonicalize, built with this module's go-openapi,
// writes the kind last; the logs write it second, as here).
func TestHashedRekordBodyMatchesLoggedBodies(t *testing.T) {
	paths, err := filepath.Glob("../testdata/conformance/bundle-verify/*/bundle.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	local, err := filepath.Glob("../testdata/verify/*.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, local...)
	matched := 0
	for _, p := range paths {
		if strings.HasSuffix(filepath.Dir(p), "_fail") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			VerificationMaterial struct {
				Certificate struct{ RawBytes []byte }
				TlogEntries []struct {
					KindVersion       struct{ Kind, Version string }
					CanonicalizedBody []byte
				}
			}
			MessageSignature *struct {
				MessageDigest struct{ Digest []byte }
				Signature     []byte
			}
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		vm := b.VerificationMaterial
		if b.MessageSignature == nil || len(vm.Certificate.RawBytes) == 0 || len(vm.TlogEntries) != 1 ||
			vm.TlogEntries[0].KindVersion != (struct{ Kind, Version string }{"hashedrekord", "0.0.1"}) {
			continue
		}
		certPEM := cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, vm.Certificate.RawBytes)
		got := HashedRekordBody(b.MessageSignature.MessageDigest.Digest, b.MessageSignature.Signature, certPEM)
		if want := vm.TlogEntries[0].CanonicalizedBody; !bytes.Equal(got, want) {
			t.Errorf("%s: body\n%s\nlogged\n%s", p, got, want)
		}
		matched++
	}
	if matched < 4 {
		t.Fatalf("%d bundles with a hashedrekord v0.0.1 entry, want at least 4", matched)
	}
	t.Logf("%d logged bodies", matched)
}

// proposedHashedRekord is the hashedrekord v0.0.1 entry proposed for r, as rekor's model
// (HashedRekordBody is its JSON, up to key order).
func proposedHashedRekord(r HashedRekord) *models.Hashedrekord {
	return &models.Hashedrekord{
		APIVersion: swag.String("0.0.1"),
		Spec: models.HashedrekordV001Schema{
			Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
				Algorithm: swag.String(models.HashedrekordV001SchemaDataHashAlgorithmSha256), Value: swag.String(hex.EncodeToString(r.Digest))}},
			Signature: &models.HashedrekordV001SchemaSignature{Content: r.Signature,
				PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: r.PublicPEM}},
		},
	}
}
