package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// fixedSigner signs deterministically so two encodings of one token can be compared:
// the "signature" is SHA-256 of the digest, repeated to a length that depends on it.
type fixedSigner struct{ crypto.Signer }

func (s fixedSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	sum := sha256.Sum256(digest)
	n := 64 + int(sum[0]%200) // crosses the one-byte length form
	return bytes.Repeat(sum[:], n/32+1)[:n], nil
}

// TestTokenMatchesBuilder: the hand-written DER of appendToken is byte for byte the
// encoding cryptobyte.Builder produces for the same fields, for every key type,
// imprint hash, certReq, and serials and nonces at the edges of the INTEGER encoding.
func TestTokenMatchesBuilder(t *testing.T) {
	dev := sharedDevChain(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	big2 := func(exp uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), exp) }
	max512 := new(big.Int).Sub(big2(512), big.NewInt(1))
	nonces := []*big.Int{nil, big.NewInt(0), big.NewInt(1), big.NewInt(127), big.NewInt(128), big.NewInt(255),
		big.NewInt(-1), big.NewInt(-128), big.NewInt(-129), big2(63), big2(64), max512, new(big.Int).Neg(max512)}
	serials := []*big.Int{big.NewInt(1), big.NewInt(128), big2(63), new(big.Int).Add(big2(64), big.NewInt(5)),
		new(big.Int).Add(new(big.Int).Lsh(big.NewInt(MaxReplicaID), 64), big.NewInt(1<<62))}
	for _, signer := range []crypto.Signer{dev.Key, p384, rsaKey} {
		for _, acc := range []time.Duration{time.Second, 1500 * time.Microsecond} {
			enc, err := newEncoder(fixedSigner{signer}, dev.Leaf, DefaultPolicy, acc)
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
				imprint := bytes.Repeat([]byte{byte(i + 1)}, h.Size())
				for j, nonce := range nonces {
					f := tokenFields{
						hash:    h,
						imprint: imprint,
						serial:  serials[j%len(serials)],
						genTime: time.Date(2026+j, time.Month(1+j%12), 1+j, j, 2*j, 3*j, 0, time.UTC),
						nonce:   nonce,
						certReq: j%2 == 0,
					}
					want, err := builderToken(enc, &f)
					if err != nil {
						t.Fatal(err)
					}
					got, err := enc.appendToken([]byte("prefix"), nil, &f)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
						t.Fatalf("%T %v nonce %v serial %v: appendToken\n%x\nwant\n%x", signer.Public(), h, nonce, f.serial, got, want)
					}
				}
			}
		}
	}
}

// builderToken is the token encoding written with cryptobyte.Builder, the reference for
// appendToken. The constant attributes (contentType, signingCertificateV2) are taken
// from the encoder's template; the others are encoded and all four sorted here.
func builderToken(e *encoder, f *tokenFields) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddBytes(e.policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(e.imprintAlg[f.hash])
			b.AddASN1OctetString(f.imprint)
		})
		b.AddASN1BigInt(f.serial)
		b.AddASN1GeneralizedTime(f.genTime.UTC())
		if e.accuracy != nil {
			b.AddBytes(e.accuracy)
		}
		if f.nonce != nil {
			b.AddASN1BigInt(f.nonce)
		}
		b.AddBytes(e.tsaName)
	})
	info, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	h := e.digest.New()
	h.Write(info)
	attrDigest := attribute(oidAttrDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(h.Sum(nil)) })
	attrTime := attribute(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(f.genTime.UTC()) })
	attrs := [][]byte{attrDigest, attrTime}
	tmpl := cryptobyte.String(e.attrs)
	var set cryptobyte.String
	if !tmpl.ReadASN1(&set, cbasn1.SET) {
		panic("bad template")
	}
	for !set.Empty() {
		var elem, a, oid cryptobyte.String
		if !set.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			panic("bad template attribute")
		}
		full := []byte(elem)
		if !elem.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
			panic("bad template attribute")
		}
		if !bytes.Equal(oid, mustOID(oidAttrDigest)[2:]) && !bytes.Equal(oid, mustOID(oidAttrSigningTime)[2:]) {
			attrs = append(attrs, full)
		}
	}
	if len(attrs) != 4 {
		panic("template does not have four attributes")
	}
	sortDER(attrs)
	sb := cryptobyte.NewBuilder(nil)
	sb.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signed, err := sb.Bytes()
	if err != nil {
		return nil, err
	}
	h = e.digest.New()
	h.Write(signed)
	sig, err := e.signer.Sign(nil, h.Sum(nil), e.digest)
	if err != nil {
		return nil, err
	}
	signed[0] = 0xa0
	b = cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidSignedData)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(3)
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(e.digestID) })
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidTSTInfo)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(info)
						})
					})
					if f.certReq {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(e.leaf)
						})
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1Int64(1)
							b.AddBytes(e.sid)
							b.AddBytes(e.digestID)
							b.AddBytes(signed)
							b.AddBytes(e.sigAlgID)
							b.AddASN1OctetString(sig)
						})
					})
				})
			})
		})
	})
	return b.Bytes()
}

// sortDER sorts a SET OF's elements by their encodings (X.690 section 11.6).
func sortDER(s [][]byte) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && bytes.Compare(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}
