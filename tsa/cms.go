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
	"sync"
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

	oidSignedDataDER = mustOID(oidSignedData)
	oidTSTInfoDER    = mustOID(oidTSTInfo)
)

func mustOID(oid asn1.ObjectIdentifier) []byte {
	var b cryptobyte.Builder
	b.AddASN1ObjectIdentifier(oid)
	return b.BytesOrPanic()
}

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
	// attrs is the signed attributes' SET OF (contentType, messageDigest, signingTime,
	// signingCertificateV2) with zeros where each token's message digest and signing
	// time go, at attrsDigestAt and attrsTimeAt.
	attrs         []byte
	attrsDigestAt int
	attrsTimeAt   int
	imprintAlg    map[crypto.Hash][]byte // AlgorithmIdentifier with NULL parameters
	scratch       sync.Pool              // *scratch
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

	attrContentType := attribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidTSTInfo) })

	// SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }; ESSCertIDv2 { hashAlgorithm
	// DEFAULT sha256 (so omitted), certHash, issuerSerial { GeneralNames, serial } }.
	certHash := crypto.SHA256.New()
	certHash.Write(leaf.Raw)
	attrSigningV2 := attribute(oidAttrSigningV2, func(b *cryptobyte.Builder) {
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
	// Every attribute has a fixed length and its own OID ahead of its value, so their DER
	// SET OF order (X.690 section 11.6: sorted by encoding) is the same for every token
	// and is fixed here, with placeholder values.
	attrDigest := attribute(oidAttrDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, e.digest.Size())) })
	attrTime := attribute(oidAttrSigningTime, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, len("060102150405Z"))) })
	})
	attrs := [][]byte{attrContentType, attrDigest, attrTime, attrSigningV2}
	slices.SortFunc(attrs, bytes.Compare)
	b = cryptobyte.Builder{}
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	e.attrs = b.BytesOrPanic()
	at := len(e.attrs) - len(slices.Concat(attrs...))
	for _, a := range attrs {
		at += len(a)
		switch {
		case bytes.Equal(a, attrDigest):
			e.attrsDigestAt = at - e.digest.Size()
		case bytes.Equal(a, attrTime):
			e.attrsTimeAt = at - len("060102150405Z")
		}
	}
	e.scratch.New = func() any { return &scratch{info: make([]byte, 0, 512), attrs: make([]byte, 0, len(e.attrs))} }
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

// The per-token encoding below appends DER by hand instead of through a
// cryptobyte.Builder: the builder allocates a child for every nested element (about 40
// allocations and 5 KB per token), which under load is most of what the collector has to
// clear. The shape is fixed, so every length is computed before its header is written.
// TestTokenMatchesBuilder checks the bytes against the builder-based encoding.

// tlvSize is the size of a DER TLV with n content bytes and a one-byte tag.
func tlvSize(n int) int {
	switch {
	case n < 0x80:
		return 2 + n
	case n < 0x100:
		return 3 + n
	case n < 0x10000:
		return 4 + n
	case n < 0x1000000:
		return 5 + n
	}
	return 6 + n
}

// appendHeader appends a tag and the DER definite length n.
func appendHeader(b []byte, tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, tag, byte(n))
	case n < 0x100:
		return append(b, tag, 0x81, byte(n))
	case n < 0x10000:
		return append(b, tag, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, tag, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, tag, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagUTCTime     = 0x17
	tagGenTime     = 0x18
	tagSequence    = 0x30
	tagSet         = 0x31
	tagContext0    = 0xa0 // [0] constructed
)

// intContent returns the content octets of the DER INTEGER n (X.690 section 8.3),
// using buf when it is large enough.
func intContent(buf []byte, n *big.Int) []byte {
	switch n.Sign() {
	case 0:
		return append(buf[:0], 0)
	case -1:
		// Rare (a client's negative nonce): two's complement, as cryptobyte does.
		m := new(big.Int).Neg(n)
		m.Sub(m, big.NewInt(1))
		b := m.Bytes()
		for i := range b {
			b[i] ^= 0xff
		}
		if len(b) == 0 || b[0]&0x80 == 0 {
			b = append([]byte{0xff}, b...)
		}
		return b
	}
	k := (n.BitLen() + 7) / 8
	pad := 0
	if n.BitLen()%8 == 0 {
		pad = 1 // the high bit is set: a leading zero keeps it positive
	}
	var b []byte
	if k+pad <= len(buf) {
		b = buf[:k+pad]
	} else {
		b = make([]byte, k+pad)
	}
	b[0] = 0
	n.FillBytes(b[pad:])
	return b
}

// appendTSTInfo appends TSTInfo (RFC 3161 section 2.4.2).
func (e *encoder) appendTSTInfo(b []byte, f *tokenFields) ([]byte, error) {
	imprintAlg, ok := e.imprintAlg[f.hash]
	if !ok {
		return nil, fmt.Errorf("tsa: no message imprint algorithm for %v", f.hash)
	}
	t := f.genTime.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return nil, fmt.Errorf("tsa: cannot represent %v as a GeneralizedTime", t)
	}
	var serialBuf, nonceBuf [72]byte
	serial := intContent(serialBuf[:], f.serial)
	var nonce []byte
	if f.nonce != nil {
		nonce = intContent(nonceBuf[:], f.nonce)
	}
	var timeBuf [24]byte
	genTime := t.AppendFormat(timeBuf[:0], "20060102150405Z0700")

	imprint := len(imprintAlg) + tlvSize(len(f.imprint))
	n := 3 + len(e.policy) + tlvSize(imprint) + tlvSize(len(serial)) + tlvSize(len(genTime)) +
		len(e.accuracy) + len(e.tsaName)
	if f.nonce != nil {
		n += tlvSize(len(nonce))
	}
	b = appendHeader(b, tagSequence, n)
	b = append(b, tagInteger, 1, 1) // version v1
	b = append(b, e.policy...)
	b = appendHeader(b, tagSequence, imprint)
	b = append(b, imprintAlg...)
	b = appendHeader(b, tagOctetString, len(f.imprint))
	b = append(b, f.imprint...)
	b = appendHeader(b, tagInteger, len(serial))
	b = append(b, serial...)
	b = appendHeader(b, tagGenTime, len(genTime))
	b = append(b, genTime...)
	b = append(b, e.accuracy...)
	// ordering DEFAULT FALSE: omitted.
	if f.nonce != nil {
		b = appendHeader(b, tagInteger, len(nonce))
		b = append(b, nonce...)
	}
	b = append(b, e.tsaName...)
	return b, nil
}

// scratch holds a token's TSTInfo and signed attributes while it is signed.
type scratch struct {
	info  []byte
	attrs []byte
}

// appendToken appends the TimeStampResp with status granted and a signed
// TimeStampToken to dst.
func (e *encoder) appendToken(dst []byte, rand io.Reader, f *tokenFields) ([]byte, error) {
	sc := e.scratch.Get().(*scratch)
	defer e.scratch.Put(sc)
	info, err := e.appendTSTInfo(sc.info[:0], f)
	if err != nil {
		return nil, err
	}
	sc.info = info

	// The signed attributes are a template (newEncoder) with two holes: the digest of
	// TSTInfo and the signing time.
	t := f.genTime.UTC()
	if t.Year() < 1950 || t.Year() >= 2050 {
		return nil, fmt.Errorf("tsa: cannot represent %v as a UTCTime", t)
	}
	attrs := append(sc.attrs[:0], e.attrs...)
	sc.attrs = attrs
	var sum [64]byte
	h := e.digest.New()
	h.Write(info)
	h.Sum(sum[:0])
	copy(attrs[e.attrsDigestAt:], sum[:e.digest.Size()])
	var timeBuf [24]byte
	copy(attrs[e.attrsTimeAt:], t.AppendFormat(timeBuf[:0], "060102150405Z0700"))

	// The signature covers the attributes as an explicit SET OF (RFC 5652 section 5.4).
	h = e.digest.New()
	h.Write(attrs)
	sig, err := e.signer.Sign(rand, h.Sum(sum[:0]), e.digest)
	if err != nil {
		return nil, fmt.Errorf("tsa: sign token: %w", err)
	}

	encap := len(oidTSTInfoDER) + tlvSize(tlvSize(len(info)))
	signerInfo := 3 + len(e.sid) + len(e.digestID) + len(attrs) + len(e.sigAlgID) + tlvSize(len(sig))
	signedData := 3 + tlvSize(len(e.digestID)) + tlvSize(encap) + tlvSize(tlvSize(signerInfo))
	if f.certReq {
		signedData += tlvSize(len(e.leaf))
	}
	content := len(oidSignedDataDER) + tlvSize(tlvSize(signedData))
	resp := 5 + tlvSize(content)

	b := slices.Grow(dst, tlvSize(resp))
	b = appendHeader(b, tagSequence, resp)                // TimeStampResp
	b = append(b, tagSequence, 3, tagInteger, 1, 0)       // PKIStatusInfo { granted }
	b = appendHeader(b, tagSequence, content)             // ContentInfo
	b = append(b, oidSignedDataDER...)                    //
	b = appendHeader(b, tagContext0, tlvSize(signedData)) //
	b = appendHeader(b, tagSequence, signedData)          // SignedData
	b = append(b, tagInteger, 1, 3)                       // version 3
	b = appendHeader(b, tagSet, len(e.digestID))          // digestAlgorithms
	b = append(b, e.digestID...)
	b = appendHeader(b, tagSequence, encap) // EncapsulatedContentInfo
	b = append(b, oidTSTInfoDER...)
	b = appendHeader(b, tagContext0, tlvSize(len(info)))
	b = appendHeader(b, tagOctetString, len(info))
	b = append(b, info...)
	if f.certReq {
		b = appendHeader(b, tagContext0, len(e.leaf)) // certificates [0] IMPLICIT
		b = append(b, e.leaf...)
	}
	b = appendHeader(b, tagSet, tlvSize(signerInfo)) // signerInfos
	b = appendHeader(b, tagSequence, signerInfo)     // SignerInfo
	b = append(b, tagInteger, 1, 1)                  // version 1
	b = append(b, e.sid...)
	b = append(b, e.digestID...)
	// In the SignerInfo the same attributes carry the tag [0] IMPLICIT.
	b = append(b, tagContext0)
	b = append(b, attrs[1:]...)
	b = append(b, e.sigAlgID...)
	b = appendHeader(b, tagOctetString, len(sig))
	b = append(b, sig...)
	return b, nil
}
