package tsa

import (
	"bytes"
	"crypto"
	"math/big"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseRequest parses a DER TimeStampReq exactly as timestamp.ParseRequest does: same
// accepted inputs, same results, same errors. encoding/asn1's reflection behind it was
// 8% of the server's CPU per token, so requests in the shape clients send (RFC 3161
// section 2.4.1: version 1, a SHA-2 imprint with absent or NULL parameters, this
// authority's policy or none, a nonce, certReq, no extensions, nothing else) are read
// with cryptobyte; anything else, including every input encoding/asn1 tolerates or
// refuses in its own way, goes to timestamp.ParseRequest. FuzzParseRequestFast checks
// that whatever the fast path accepts, the library accepts with the same fields.
func (a *Authority) parseRequest(der []byte) (*timestamp.Request, error) {
	if r, ok := parseRequestFast(der, a.enc.policy); ok {
		return r, nil
	}
	return timestamp.ParseRequest(der)
}

// imprintOIDs are the DER contents of hashOIDs' OBJECT IDENTIFIERs.
var imprintOIDs = func() map[crypto.Hash][]byte {
	m := map[crypto.Hash][]byte{}
	for h, oid := range hashOIDs {
		m[h] = mustOID(oid)[2:]
	}
	return m
}()

// parseRequestFast reads the common request shape, or reports false. policy is the
// authority's policy as a DER OBJECT IDENTIFIER; a request naming another policy is
// left to the slow path (which parses it, for the refusal to name it).
func parseRequestFast(der, policy []byte) (*timestamp.Request, bool) {
	s := cryptobyte.String(der)
	var req, imprint, alg, oid, hashed cryptobyte.String
	var version int64
	if !s.ReadASN1(&req, cbasn1.SEQUENCE) || !s.Empty() ||
		!req.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 1 ||
		!req.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!imprint.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !imprint.Empty() || len(hashed) == 0 {
		return nil, false
	}
	if !alg.Empty() { // parameters: NULL or absent
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 || !alg.Empty() {
			return nil, false
		}
	}
	r := &timestamp.Request{}
	for h, o := range imprintOIDs {
		if bytes.Equal(oid, o) {
			r.HashAlgorithm = h
		}
	}
	if r.HashAlgorithm == 0 {
		return nil, false
	}
	r.HashedMessage = bytes.Clone(hashed)
	if req.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) {
		var p cryptobyte.String
		if !req.ReadASN1Element(&p, cbasn1.OBJECT_IDENTIFIER) || !bytes.Equal(p, policy) {
			return nil, false
		}
		if !p.ReadASN1ObjectIdentifier(&r.TSAPolicyOID) {
			return nil, false
		}
	}
	if req.PeekASN1Tag(cbasn1.INTEGER) {
		r.Nonce = new(big.Int)
		if !req.ReadASN1Integer(r.Nonce) {
			return nil, false
		}
	}
	if req.PeekASN1Tag(cbasn1.BOOLEAN) {
		if !req.ReadASN1Boolean(&r.Certificates) {
			return nil, false
		}
	}
	if !req.Empty() { // extensions, or anything encoding/asn1 may skip or refuse
		return nil, false
	}
	return r, true
}
