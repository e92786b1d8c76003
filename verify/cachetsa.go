package verify

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"math/big"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// cachedTSA is a Sigstore TSA of the trusted root whose certificate chain check is
// cached. Every timestamp of a run comes from the same TSA certificate, and
// sigstore-go's check (timestamp-authority's VerifyTimestampResponse) verifies the
// token's CMS signature twice and the TSA chain (two more signatures) for each.
//
// Verify answers from the cache only when it can show that VerifyTimestampResponse
// and SigstoreTimestampingAuthority.Verify accept the token, and with their result;
// in every other case, hits that do not fit included, it calls them, so it refuses
// exactly what they refuse, with their errors. What it checks for this token: it
// parses (timestamp.ParseResponse, which verifies the CMS signature when the token
// carries its certificates, the only tokens served from the cache), the hash
// algorithm, the signer named by the token, the root's TSA leaf when it names one,
// the imprint over this signature, the root's validity window for the TSA, and every
// certificate of the cached chains valid at the token's time. What it keeps: the
// chains sigstore-go's x509 verification found, after sigstore-go accepted a token,
// for the same signer and the same certificates in the token (they are the pool the
// chain is built from), with the leaf checks made on them (end-entity, one critical
// timestamping EKU, the EKU of intermediates) being functions of those alone.
type cachedTSA struct {
	tsa *root.SigstoreTimestampingAuthority
	c   *trustCache
	idx int
}

func (a *cachedTSA) Verify(signedTimestamp, signatureBytes []byte) (*root.Timestamp, error) {
	return a.verify(nil, signedTimestamp, signatureBytes)
}

// VerifyParsed is Verify for a caller that has just parsed signedTimestamp itself with
// timestamp.ParseResponse (tsa.Client does, to bind the answer to its request): parsed
// is that result, unmodified, and the cached path uses it instead of parsing the same
// bytes again, which would verify the token's CMS signature a second time. Everything
// else is checked as in Verify; the uncached path ignores parsed.
func (a *cachedTSA) VerifyParsed(parsed *timestamp.Timestamp, signedTimestamp, signatureBytes []byte) (*root.Timestamp, error) {
	return a.verify(parsed, signedTimestamp, signatureBytes)
}

func (a *cachedTSA) verify(parsed *timestamp.Timestamp, signedTimestamp, signatureBytes []byte) (*root.Timestamp, error) {
	key := a.verifiedKey(signedTimestamp, signatureBytes)
	a.c.mu.Lock()
	done, hit := a.c.tsaVerified[key]
	a.c.mu.Unlock()
	if hit {
		return &root.Timestamp{Time: done.Time, URI: done.URI}, nil
	}
	t, err := a.verifyToken(parsed, signedTimestamp, signatureBytes)
	if err != nil {
		return nil, err
	}
	a.c.mu.Lock()
	if len(a.c.tsaVerified) < maxCacheEntries {
		a.c.tsaVerified[key] = *t
	}
	a.c.mu.Unlock()
	return t, nil
}

// verifyToken answers from the cached chains when it can, else verifies with
// sigstore-go and keeps the chains; the tokens that miss the same chains together
// (a signing run's first wave) wait for the first of them instead of each verifying
// the chain.
func (a *cachedTSA) verifyToken(parsed *timestamp.Timestamp, signedTimestamp, signatureBytes []byte) (*root.Timestamp, error) {
	tok, ok := a.parse(parsed, signedTimestamp)
	if !ok {
		return a.tsa.Verify(signedTimestamp, signatureBytes)
	}
	if t, ok := a.fromCache(tok, signatureBytes); ok {
		return t, nil
	}
	defer a.c.locks.lock("tsa\n" + string(tok.key[:]))()
	if t, ok := a.fromCache(tok, signatureBytes); ok {
		return t, nil
	}
	t, err := a.tsa.Verify(signedTimestamp, signatureBytes)
	if err != nil {
		return nil, err
	}
	a.remember(tok)
	return t, nil
}

// verifiedKey names one Verify call: this TSA, the token and the signature it covers,
// length-prefixed, hashed. SigstoreTimestampingAuthority.Verify is a function of those
// alone (the chain is checked at the token's time, never the clock's), so a token
// accepted once for a signature is accepted again with the same result: a signing run
// checks each TSA answer when it arrives and again in the finished bundle's self-check,
// and the second is this lookup. A refusal is never kept.
func (a *cachedTSA) verifiedKey(signedTimestamp, signatureBytes []byte) [sha256.Size]byte {
	h := sha256.New()
	putLen(h, uint64(a.idx))
	putLen(h, uint64(len(signedTimestamp)))
	h.Write(signedTimestamp)
	putLen(h, uint64(len(signatureBytes)))
	h.Write(signatureBytes)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// token is what fromCache and remember read from a timestamp response.
type token struct {
	ts     *timestamp.Timestamp
	signer *x509.Certificate
	certs  []*x509.Certificate
	key    [sha256.Size]byte // tsaChainKey
}

// parse reads signedTimestamp, parsed with timestamp.ParseResponse unless the caller
// has (parsed: its result on these bytes).
func (a *cachedTSA) parse(parsed *timestamp.Timestamp, signedTimestamp []byte) (*token, bool) {
	if a.tsa.Root == nil {
		return nil, false
	}
	ts, err := parsed, error(nil)
	if ts == nil {
		ts, err = timestamp.ParseResponse(signedTimestamp)
	}
	// Only tokens that carry their certificates: for those ParseResponse has verified
	// the CMS signature, as VerifyTimestampResponse's second p7.Verify would on the same
	// bytes.
	if err != nil || !ts.AddTSACertificate {
		return nil, false
	}
	switch ts.HashAlgorithm {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, false
	}
	var signer *x509.Certificate
	var certs []*x509.Certificate
	if parsed != nil {
		signer, certs = onlySigner(parsed)
	}
	if signer == nil {
		p7, err := pkcs7.Parse(ts.RawToken)
		if err != nil {
			return nil, false
		}
		signer, certs = p7.GetOnlySigner(), p7.Certificates
	}
	if len(certs) == 0 {
		return nil, false
	}
	if signer == nil || (a.tsa.Leaf != nil && !a.tsa.Leaf.Equal(signer)) {
		return nil, false
	}
	return &token{ts: ts, signer: signer, certs: certs, key: tsaChainKey(a.idx, signer, certs)}, true
}

// tsaChainKey names the chains of the root's TSA i for a token's signer and
// certificates: SHA-256 of their DERs, length-prefixed, like chainKey.
func tsaChainKey(i int, signer *x509.Certificate, certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	putLen(h, uint64(i))
	putLen(h, uint64(len(signer.Raw)))
	h.Write(signer.Raw)
	for _, c := range certs {
		putLen(h, uint64(len(c.Raw)))
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// onlySigner is what pkcs7.Parse(ts.RawToken).GetOnlySigner() and its Certificates
// give, for a token the caller parsed with timestamp.ParseResponse:
// that parse was pkcs7.Parse of the same bytes, so its Certificates are those, and the
// signer is read here from the token's one SignerInfo (issuer and serial number, as
// pkcs7 matches them) instead of parsing the whole token, certificates included, a
// second time. nil, nil when the token is not the plain DER shape this reads (then
// the caller parses it as before) or has another number of signers.
func onlySigner(ts *timestamp.Timestamp) (*x509.Certificate, []*x509.Certificate) {
	s := cryptobyte.String(ts.RawToken)
	var ci, content, sd, infos, info, sid, issuer cryptobyte.String
	var oid encasn1.ObjectIdentifier
	var version int64
	serial := new(big.Int)
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() ||
		!ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(pkcs7.OIDSignedData) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!content.ReadASN1(&sd, cbasn1.SEQUENCE) || !content.Empty() ||
		!sd.ReadASN1Integer(&version) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) ||
		!sd.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() ||
		!infos.ReadASN1(&info, cbasn1.SEQUENCE) || !infos.Empty() || // exactly one signer
		!info.ReadASN1Integer(&version) || !info.ReadASN1(&sid, cbasn1.SEQUENCE) ||
		!sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(serial) || !sid.Empty() {
		return nil, nil
	}
	for _, c := range ts.Certificates {
		if c.SerialNumber.Cmp(serial) == 0 && bytes.Equal(c.RawIssuer, issuer) {
			return c, ts.Certificates
		}
	}
	return nil, nil
}

func (a *cachedTSA) fromCache(tok *token, signatureBytes []byte) (*root.Timestamp, bool) {
	a.c.mu.Lock()
	chains, hit := a.c.tsaChains[tok.key]
	a.c.mu.Unlock()
	ts := tok.ts
	if !hit || !chainsValidAt(chains, ts.Time) {
		return nil, false
	}
	h := ts.HashAlgorithm.New()
	h.Write(signatureBytes)
	if !bytes.Equal(h.Sum(nil), ts.HashedMessage) {
		return nil, false
	}
	if !a.tsa.ValidityPeriodStart.IsZero() && ts.Time.Before(a.tsa.ValidityPeriodStart) ||
		!a.tsa.ValidityPeriodEnd.IsZero() && ts.Time.After(a.tsa.ValidityPeriodEnd) {
		return nil, false
	}
	return &root.Timestamp{Time: ts.Time, URI: a.tsa.URI}, true
}

// remember keeps the chains of a token sigstore-go has just accepted, built as
// verifyTSRWithChain builds them (the TSA's root, its intermediates and the token's
// certificates, timestamping usage, at the token's time).
func (a *cachedTSA) remember(tok *token) {
	roots := x509.NewCertPool()
	roots.AddCert(a.tsa.Root)
	inter := x509.NewCertPool()
	for _, c := range a.tsa.Intermediates {
		if c != nil {
			inter.AddCert(c)
		}
	}
	for _, c := range tok.certs {
		if c != nil {
			inter.AddCert(c)
		}
	}
	chains, err := tok.signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, CurrentTime: tok.ts.Time})
	if err != nil {
		return
	}
	a.c.mu.Lock()
	if len(a.c.tsaChains) < maxCacheEntries {
		a.c.tsaChains[tok.key] = chains
	}
	a.c.mu.Unlock()
}
