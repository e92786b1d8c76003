package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The token encoder. digitorus/timestamp's CreateResponseWithOpts draws a random serial
// number that callers cannot set (at the version this module pins), so the authority
// encodes TSTInfo and the CMS SignedData around it itself (RFC 3161 section 2.4.2,
// RFC 5652 section 5, RFC 5035 for signing-certificate-v2). Everything that does not
// depend on the request is encoded once, in newEncoder.

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrDigest      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningV2   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidRSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidEKU             = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidEKUTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
)

// hashOIDs are the message-imprint algorithms the authority accepts.
var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// encoder holds the request-independent parts of a token.
type encoder struct {
	signer   crypto.Signer
	digest   crypto.Hash // CMS digest over TSTInfo and the signed attributes
	digestID []byte      // AlgorithmIdentifier
	sigAlgID []byte      // AlgorithmIdentifier
	sid      []byte      // IssuerAndSerialNumber of the leaf
	leaf     []byte      // the leaf certificate, for certReq
	tsaName  []byte      // TSTInfo.tsa: [0] EXPLICIT GeneralName directoryName
	policy   []byte      // OBJECT IDENTIFIER
	accuracy []byte      // Accuracy, nil when zero
	// Signed attributes that never change: contentType and signingCertificateV2.
	attrContentType []byte
	attrSigningV2   []byte
	imprintAlg      map[crypto.Hash][]byte // AlgorithmIdentifier with NULL parameters
}

func newEncoder(signer crypto.Signer, leaf *x509.Certificate, policy asn1.ObjectIdentifier, accuracy time.Duration) (*encoder, error) {
	e := &encoder{signer: signer, leaf: leaf.Raw, imprintAlg: map[crypto.Hash][]byte{}}
	var sigOID asn1.ObjectIdentifier
	sigNull := false
	switch k := signer.Public().(type) {
	case *ecdsa.PublicKey:
		// The digest follows the curve size (RFC 5753 section 7.1 pairs them this way).
		switch k.Curve {
		case elliptic.P256():
			e.digest, sigOID = crypto.SHA256, oidECDSAWithSHA256
		case elliptic.P384():
			e.digest, sigOID = crypto.SHA384, oidECDSAWithSHA384
		case elliptic.P521():
			e.digest, sigOID = crypto.SHA512, oidECDSAWithSHA512
		default:
			return nil, fmt.Errorf("tsa: unsupported ECDSA curve %s: use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.Size() < 2048/8 {
			return nil, fmt.Errorf("tsa: RSA key of %d bits is too small: use 2048 bits or more", k.Size()*8)
		}
		e.digest, sigOID, sigNull = crypto.SHA256, oidRSAWithSHA256, true
	default:
		return nil, fmt.Errorf("tsa: unsupported signing key type %T: use ECDSA (P-256/384/521) or RSA", k)
	}
	for h, oid := range hashOIDs {
		e.imprintAlg[h] = algID(oid, true)
	}
	e.digestID = e.imprintAlg[e.digest]
	e.sigAlgID = algID(sigOID, sigNull)

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(leaf.RawIssuer)
		b.AddASN1BigInt(leaf.SerialNumber)
	})
	e.sid = b.BytesOrPanic()

	b = cryptobyte.Builder{}
	b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes(leaf.RawSubject)
		})
	})
	e.tsaName = b.BytesOrPanic()

	b = cryptobyte.Builder{}
	b.AddASN1ObjectIdentifier(policy)
	p, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: policy %v: %w", policy, err)
	}
	e.policy = p

	if accuracy > 0 {
		e.accuracy = encodeAccuracy(accuracy)
	}

	e.attrContentType = attribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidTSTInfo) })

	// SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }; ESSCertIDv2 { hashAlgorithm
	// DEFAULT sha256 (so omitted), certHash, issuerSerial { GeneralNames, serial } }.
	certHash := crypto.SHA256.New()
	certHash.Write(leaf.Raw)
	e.attrSigningV2 = attribute(oidAttrSigningV2, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(certHash.Sum(nil))
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(leaf.RawIssuer)
							})
						})
						b.AddASN1BigInt(leaf.SerialNumber)
					})
				})
			})
		})
	})
	return e, nil
}

func algID(oid asn1.ObjectIdentifier, null bool) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic()
}

// attribute encodes Attribute { attrType, attrValues SET { value } }.
func attribute(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}

// encodeAccuracy encodes Accuracy { seconds, [0] millis, [1] micros } (RFC 3161 2.4.2).
func encodeAccuracy(d time.Duration) []byte {
	if d < time.Microsecond {
		d = time.Microsecond
	}
	sec := int64(d / time.Second)
	ms := int64(d % time.Second / time.Millisecond)
	us := int64(d % time.Millisecond / time.Microsecond)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if sec > 0 {
			b.AddASN1Int64(sec)
		}
		if ms > 0 {
			b.AddASN1Int64WithTag(ms, cbasn1.Tag(0).ContextSpecific())
		}
		if us > 0 {
			b.AddASN1Int64WithTag(us, cbasn1.Tag(1).ContextSpecific())
		}
	})
	return b.BytesOrPanic()
}

// tokenFields are the per-request parts of a token.
type tokenFields struct {
	hash    crypto.Hash
	imprint []byte
	serial  *big.Int
	genTime time.Time
	nonce   *big.Int // nil: absent
	certReq bool
}

// tstInfo encodes TSTInfo (RFC 3161 section 2.4.2).
func (e *encoder) tstInfo(f *tokenFields) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, 256))
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
		// ordering DEFAULT FALSE: omitted.
		if f.nonce != nil {
			b.AddASN1BigInt(f.nonce)
		}
		b.AddBytes(e.tsaName)
	})
	return b.Bytes()
}

// token encodes the TimeStampResp with status granted and a signed TimeStampToken.
func (e *encoder) token(rand io.Reader, f *tokenFields) ([]byte, error) {
	info, err := e.tstInfo(f)
	if err != nil {
		return nil, err
	}
	h := e.digest.New()
	h.Write(info)
	attrDigest := attribute(oidAttrDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(h.Sum(nil)) })
	attrTime := attribute(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(f.genTime.UTC()) })
	// DER SET OF: the attributes sorted by their encodings (X.690 section 11.6).
	attrs := [][]byte{e.attrContentType, attrDigest, attrTime, e.attrSigningV2}
	slices.SortFunc(attrs, bytes.Compare)

	// The signature covers the attributes as an explicit SET OF (RFC 5652 section 5.4).
	set := cryptobyte.NewBuilder(make([]byte, 0, 512))
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signed, err := set.Bytes()
	if err != nil {
		return nil, err
	}
	h = e.digest.New()
	h.Write(signed)
	sig, err := e.signer.Sign(rand, h.Sum(nil), e.digest)
	if err != nil {
		return nil, fmt.Errorf("tsa: sign token: %w", err)
	}
	// In the SignerInfo the same attributes carry the tag [0] IMPLICIT.
	signed[0] = 0xa0

	b := cryptobyte.NewBuilder(make([]byte, 0, 1024+len(e.leaf)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TimeStampResp
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIStatusInfo
			b.AddASN1Int64(0) // granted
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
			b.AddASN1ObjectIdentifier(oidSignedData)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
					b.AddASN1Int64(3)
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(e.digestID) })
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
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
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
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
