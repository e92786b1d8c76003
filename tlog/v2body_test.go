package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strconv"
	"testing"
	"time"

	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestV2BodyMatchesRekorTiles: the entry built by hand is the one whose leaf hash
// rekor-tiles' hashedrekord.ToEntryHash (protojson, then RFC 8785) gives, and the
// request built by hand reads as the CreateEntryRequest protojson would write, for
// certificates and public keys of P-256 and RSA keys and many signatures; a key that
// does not pre-hash with SHA-256 (P-384) has no body here.
func TestV2BodyMatchesRekorTiles(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, k := range []crypto.Signer{p256, rsaKey, p384} {
		for i := range 20 {
			var block *pem.Block
			if i%2 == 0 {
				tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: strconv.Itoa(i)},
					NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
				der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
				if err != nil {
					t.Fatal(err)
				}
				block = &pem.Block{Type: "CERTIFICATE", Bytes: der}
			} else {
				der, _ := x509.MarshalPKIXPublicKey(k.Public())
				block = &pem.Block{Type: "PUBLIC KEY", Bytes: der}
			}
			digest := sha256.Sum256([]byte{byte(i)})
			sig := make([]byte, 64+i)
			rand.Read(sig)
			v, err := v2Verifier(pem.EncodeToMemory(block))
			if k == p384 {
				if err == nil {
					t.Fatal("P-384: a v2 verifier for SHA-256 digests")
				}
				if _, ok := NewV2Key(&rekortilespb.Verifier{KeyDetails: 0}); ok {
					t.Fatal("a body for an unknown key")
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			s := &rekortilespb.Signature{Content: sig, Verifier: v}
			want, err := hashedrekord.ToEntryHash(digest[:], s)
			if err != nil {
				t.Fatal(err)
			}
			k2, ok := NewV2Key(v)
			body := k2.Body(digest[:], sig)
			if !ok || !bytes.Equal(rfc6962.DefaultHasher.HashLeaf(body), want) {
				t.Fatalf("%T case %d: body %s does not hash to rekor-tiles' entry hash", k, i, body)
			}
			vj, _ := v2VerifierJSON(v)
			var got rekortilespb.CreateEntryRequest
			if err := protojson.Unmarshal(v2Request(digest[:], sig, vj), &got); err != nil {
				t.Fatal(err)
			}
			wantReq := &rekortilespb.CreateEntryRequest{Spec: &rekortilespb.CreateEntryRequest_HashedRekordRequestV002{
				HashedRekordRequestV002: &rekortilespb.HashedRekordRequestV002{Digest: digest[:], Signature: s}}}
			if !proto.Equal(&got, wantReq) {
				t.Fatalf("%T case %d: request %v, want %v", k, i, &got, wantReq)
			}
		}
	}
}
