package verify

// The acceptance fast path: the common shape of a release bundle (v0.3, a message
// signature, one Fulcio leaf, one Rekor v1 hashedrekord v0.0.1 entry with both an
// inclusion proof and a SET, RFC 3161 timestamps or none; or one Rekor v2 hashedrekord
// v0.0.2 entry and at least one timestamp, fastpath_v2.go) verified without
// sigstore-go's generic machinery. It can only ACCEPT: any check that does not pass,
// any field it does not understand, any other shape returns false and sigstore-go
// (verifyParsed) decides, so every refusal, its reason and its message stay what they are.
//
// What sigstore-go v1.3.0 checks for this shape (Verifier.Verify with
// WithTransparencyLog(1), WithObserverTimestamps(1), WithSignedCertificateTimestamps(1),
// WithSignedTimestamps(n) when the policy asks for n > 0 timestamps,
// WithArtifactDigest, WithCertificateIdentity), and where fastAccept does it ("F n"
// marks the step in the code). A signing run's self-check (sign.KeylessCheck) has
// WithIntegratedTimestamps(1) instead of WithObserverTimestamps(1): for a bundle this
// path accepts the two agree, as its verified SET gives the one integrated time both
// require (F7), and the chain is checked at the same set of times (F11).
//
//	bundle.NewBundle/validate: media type v0.1-v0.3, content and verification material
//	  set, entries parse, v0.2+ needs an inclusion proof, no chain in v0.3 .... F1, F2 (v0.3 only, leaf only)
//	protojson strictness (exact key names, no duplicates, no unknown fields) ... F1 (decodeFast: names and their places; UTF-8)
//	tlog.ParseTransparencyLogEntry: body, logIndex >= 0, logId, kindVersion, the
//	  proof's checkpoint non-empty; the body a Rekor v1 entry (not v2) ........ F3, F5
//	rekor hashedrekord v0.0.1 Unmarshal/validate (schema, PEM key parses, hash
//	  algorithm and length, body signature verifies over the body digest) ..... F5 (body rebuilt from the bundle), F12
//	VerifyTlogEntry: <= MaxAllowedTlogEntries, no duplicates (one entry) ........ F2
//	  ValidateEntry (hashedrekord schema) ..................................... F5
//	  log ID listed in the trusted root (unlisted entries are skipped) ......... F6
//	  proof and/or promise present; v1 entry ................................... F3
//	  VerifySET: log key valid at the integrated time (start set), ECDSA key,
//	    signature over RFC 8785 JSON of {body, integratedTime, logID, logIndex} .. F7
//	  VerifyInclusion (v1 STH-shaped checkpoint): RFC 6962 proof of the body to
//	    the root hash, checkpoint signed by the log key, its hash == root hash .. F8, F9
//	  body signature == bundle signature, body key == bundle certificate,
//	    body digest (and algorithm) == bundle digest .......................... F5
//	  integrated time inside the leaf's validity ............................... F10
//	  threshold of one verified log; the integrated time is the one timestamp .. F6-F10
//	VerifySignedTimestamp: at most MaxAllowedTimestamps tokens; each verified by
//	  the first of the root's TSAs that accepts it (the trust cache's cachedTSA:
//	  CMS signature, chain, EKU, imprint over the bundle's signature, TSA window);
//	  a second token from the same TSA URI is not counted; n verified tokens for
//	  WithSignedTimestamps(n); the observer threshold of one met by the
//	  integrated time ......................................................... F15 (every token verifies, URIs distinct)
//	certificate.SummarizeCertificate; unhandled critical extensions ............ F4
//	certificate chain to a root CA at every verified time (the integrated time,
//	  each token's time), CA window; SCT from a listed CT log (trustCache,
//	  cache.go: the same code the slow path runs) ............................. F10, F11
//	signature over the artifact digest: digest == bundle digest, ECDSA P-256
//	  SHA-256 (the compat verifier adds nothing for P-256) ..................... F12
//	CertificateIdentities.Verify (SAN, issuer; sigstore-go's own matcher) ...... F13
//	cachet: attestation policy (a plain signature), SignedAt (the earliest
//	  verified time), checkGitHub ............................................. F14

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cachet-sign/cachet/tlog"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// fastPath is what a Verifier needs for fastAccept, built once in New.
type fastPath struct {
	identities sgverify.CertificateIdentities
	logs       map[string]*fastLog   // hex log ID -> the root's log, for Rekor v1 entries
	logsV2     map[string]*fastLogV2 // the same for Rekor v2 entries (fastpath_v2.go)

	mu          sync.Mutex
	leaves      map[string]*fastLeaf          // leaf DER -> its parse and summary
	checkpoints map[string]verifiedCheckpoint // log ID, checkpoint text -> verified
	locks       keyLocks                      // one fill of an entry at a time
}

type fastLog struct {
	tl  *root.TransparencyLog
	key *ecdsa.PublicKey
	cp  signature.Verifier // the checkpoint verifier sigstore-go builds (getVerifier)
}

// fastLeaf is a parsed leaf certificate: a pure function of its DER, shared read-only.
type fastLeaf struct {
	cert    *x509.Certificate
	key     *ecdsa.PublicKey
	summary certificate.Summary
	pem     []byte
	v2      tlog.V2Key // the leaf as a Rekor v2 entry names it
	v2ok    bool
	// identity: the summary matches one of the fast path's identities (F13), a
	// function of the two alone, decided when the leaf is cached.
	identity bool
}

// newFastPath returns the fast path for v, or nil when v's configuration is not the
// one it implements: a parsed trusted root (the trust cache), a certificate identity
// policy, a log entry required.
func newFastPath(v *Verifier, id *sgverify.CertificateIdentity) *fastPath {
	p := v.policy
	if v.sg.cache == nil || id == nil || p.Key != nil || p.SkipTlog ||
		(p.PredicateType != "" && p.PredicateType != AnyPredicateType) {
		return nil
	}
	f := &fastPath{identities: sgverify.CertificateIdentities{*id}, logs: map[string]*fastLog{}, logsV2: map[string]*fastLogV2{},
		leaves: map[string]*fastLeaf{}, checkpoints: map[string]verifiedCheckpoint{}}
	for id, tl := range v.sg.cache.tm.RekorLogs() {
		if v2 := newFastLogV2(tl); v2 != nil {
			f.logsV2[id] = v2
		}
		key, ok := tl.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			continue
		}
		cp, err := signature.LoadVerifier(tl.PublicKey, tl.SignatureHashFunc)
		if err != nil {
			continue
		}
		f.logs[id] = &fastLog{tl: tl, key: key, cp: cp}
	}
	return f
}

// The bundle as encoding/json reads it: only the fields of the shape, in protojson's
// JSON names (F1).
type fastBundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		Certificate               *fastCertificate `json:"certificate"`
		TlogEntries               []fastEntry      `json:"tlogEntries"`
		TimestampVerificationData *fastTimestamps  `json:"timestampVerificationData"`
	} `json:"verificationMaterial"`
	MessageSignature *fastMessage `json:"messageSignature"`
}

type fastMessage struct {
	MessageDigest struct {
		Algorithm string `json:"algorithm"`
		Digest    []byte `json:"digest"`
	} `json:"messageDigest"`
	Signature []byte `json:"signature"`
}

type fastCertificate struct {
	RawBytes []byte `json:"rawBytes"`
}

type fastTimestamps struct {
	Rfc3161Timestamps []fastTimestamp `json:"rfc3161Timestamps"`
}

type fastTimestamp struct {
	SignedTimestamp []byte `json:"signedTimestamp"`
}

type fastEntry struct {
	LogIndex string `json:"logIndex"`
	LogID    struct {
		KeyID []byte `json:"keyId"`
	} `json:"logId"`
	KindVersion struct {
		Kind    string `json:"kind"`
		Version string `json:"version"`
	} `json:"kindVersion"`
	IntegratedTime   string `json:"integratedTime"`
	InclusionPromise struct {
		SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
	} `json:"inclusionPromise"`
	InclusionProof struct {
		LogIndex   string   `json:"logIndex"`
		RootHash   []byte   `json:"rootHash"`
		TreeSize   string   `json:"treeSize"`
		Hashes     [][]byte `json:"hashes,omitempty"`
		Checkpoint struct {
			Envelope string `json:"envelope"`
		} `json:"checkpoint"`
	} `json:"inclusionProof"`
	CanonicalizedBody []byte `json:"canonicalizedBody"`
}

// maxSafeInt: jsoncanonicalizer formats numbers as ES6 doubles; below 2^53 that is the
// plain decimal the SET payload is built with here (F7).
const maxSafeInt = 1 << 53

// v1STH is sigstore-go's hasRekorV1STH test: a checkpoint origin ending in a tree ID.
var v1STH = regexp.MustCompile(".* - [0-9]+$")

// fastAccept verifies the bundle bytes data for artifact digest on the fast path and
// fills r as verifyParsed does; false means "not handled" (r untouched beyond what
// the slow path sets again).
func (v *Verifier) fastAccept(digest, data []byte, r *Result) bool {
	f := v.fast
	if f == nil || len(digest) != sha256.Size {
		return false
	}
	// F1: strict decode, as protojson reads: valid UTF-8, one JSON value, every key
	// one of the shape's names exactly and in its place (protojson does not match
	// case-insensitively as encoding/json does), none repeated (protojson refuses
	// duplicates, encoding/json keeps the last), none unknown (decodeFast).
	var b fastBundle
	if !utf8.Valid(data) || !decodeFast(data, &b) {
		return false
	}
	// F2: v0.3, a message signature, a single leaf certificate, one entry.
	if b.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" && b.MediaType != "application/vnd.dev.sigstore.bundle+json;version=0.3" {
		return false
	}
	vm, ms := &b.VerificationMaterial, b.MessageSignature
	if vm.Certificate == nil || len(vm.Certificate.RawBytes) == 0 || len(vm.TlogEntries) != 1 || ms == nil ||
		ms.MessageDigest.Algorithm != "SHA2_256" || len(ms.MessageDigest.Digest) != sha256.Size || len(ms.Signature) == 0 {
		return false
	}
	e := &vm.TlogEntries[0]
	// F4: the leaf, parsed and summarised once per DER; no unhandled critical extension.
	leaf := f.leaf(vm.Certificate.RawBytes)
	if leaf == nil {
		return false
	}
	// F3, F5-F9 (Rekor v1) or V1-V5 (Rekor v2, fastpath_v2.go): the entry; then F15:
	// every RFC 3161 token verified, each from another TSA, as many as the policy
	// wants. A v1 entry's SET gives the integrated time, the first verified time; a v2
	// entry gives none, so a token must.
	var times []time.Time
	var ok bool
	switch {
	case e.KindVersion.Kind == "hashedrekord" && e.KindVersion.Version == "0.0.1":
		at, ok1 := f.entryV1(e, ms, leaf)
		times, ok = verifiedTimes(v.sg.cache.tsas, vm.TimestampVerificationData, ms.Signature, &at)
		ok = ok1 && ok && len(times)-1 >= v.policy.MinTimestamps
	case e.KindVersion.Kind == "hashedrekord" && e.KindVersion.Version == "0.0.2":
		ok1 := f.entryV2(e, ms, leaf)
		times, ok = verifiedTimes(v.sg.cache.tsas, vm.TimestampVerificationData, ms.Signature, nil)
		ok = ok1 && ok && len(times) >= 1 && len(times) >= v.policy.MinTimestamps
	}
	if !ok {
		return false
	}
	// F10, F11: at every verified time, the leaf valid and its chain to one of the
	// root's CAs (CA window and every certificate's validity checked at that time,
	// the signatures from the trust cache), then the SCT: the same bundleCA the slow
	// path runs, once per time as sigstore-go calls it.
	st := &bundleState{requireSCT: v.sg.requireSCT}
	ca := (*bundleCA)(&bundleTrust{TrustedRoot: v.sg.cache.tm, c: v.sg.cache, st: st})
	signedAt := times[0]
	for _, t := range times {
		if leaf.cert.NotAfter.Before(t) || leaf.cert.NotBefore.After(t) {
			return false
		}
		if _, err := ca.Verify(leaf.cert, t); err != nil || st.chainFailed || st.sctErr != nil {
			return false
		}
		if t.Before(signedAt) {
			signedAt = t
		}
	}
	// F12: the artifact signature: the artifact's digest is the bundle's, and the
	// leaf's P-256 key signed it (ECDSA over the SHA-256 digest, what sigstore-go's
	// ECDSAVerifier does). This is also rekor's validate check of the body: by F5 the
	// body holds the same key, the same signature bytes and the same digest, so its
	// verification is this one, made once.
	if !bytes.Equal(digest, ms.MessageDigest.Digest) || !ecdsa.VerifyASN1(leaf.key, digest, ms.Signature) {
		return false
	}
	// F13: the policy's identity, with sigstore-go's matcher (once per leaf).
	if !leaf.identity {
		return false
	}
	// F14: cachet's checks after sigstore-go (verifyParsed): a plain signature passes
	// the attestation policy (newFastPath), the certificate's identity and GitHub facts
	// as verifyParsed applies them, SignedAt is the one verified timestamp. A refusal
	// leaves what acceptCertificate wrote for the slow path to write again.
	if v.acceptCertificate(&leaf.summary, r) != nil {
		return false
	}
	r.SignedAt = signedAt.UTC()
	return true
}

// maxFastTimestamps bounds the tokens the fast path verifies (sigstore-go's limit is
// MaxAllowedTimestamps, 32; a release bundle has one or two).
const maxFastTimestamps = 4

// verifiedTimes verifies the RFC 3161 tokens of tvd over the bundle's signature sig
// (VerifySignedTimestamp: the first of tsas that verifies a token gives its time) and
// returns the integrated time *at (when the entry gives one) followed by each token's
// time; false when a token does not verify, two come from one TSA, or the list is
// present but empty or long.
func verifiedTimes(tsas []root.TimestampingAuthority, tvd *fastTimestamps, sig []byte, at *time.Time) ([]time.Time, bool) {
	var times []time.Time
	if at != nil {
		times = append(times, *at)
	}
	if tvd == nil {
		return times, true
	}
	if len(tvd.Rfc3161Timestamps) == 0 || len(tvd.Rfc3161Timestamps) > maxFastTimestamps {
		return nil, false
	}
	var uris []string
	for _, tok := range tvd.Rfc3161Timestamps {
		var ts *root.Timestamp
		for _, ta := range tsas {
			if t, err := ta.Verify(tok.SignedTimestamp, sig); err == nil {
				ts = t
				break
			}
		}
		if ts == nil || slices.Contains(uris, ts.URI) {
			return nil, false
		}
		uris = append(uris, ts.URI)
		times = append(times, ts.Time)
	}
	return times, true
}

// FastAccepts reports whether the fast path accepts the bundle JSON data for the
// artifact digest under v's policy. False says nothing: the bundle may still verify
// (Verify, or a caller's own sigstore-go check, decides). A signing run's self-check
// (sign) asks this first.
func (v *Verifier) FastAccepts(digest, data []byte) bool {
	var r Result
	return v.fastAccept(digest, data, &r)
}

// leaf returns der parsed, or nil when it does not parse, is not P-256, has an
// unhandled critical extension or does not summarise.
func (f *fastPath) leaf(der []byte) *fastLeaf {
	lookup := func() (*fastLeaf, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		l, ok := f.leaves[string(der)]
		return l, ok
	}
	if l, ok := lookup(); ok {
		return l
	}
	defer f.locks.lock(string(der))()
	if l, ok := lookup(); ok {
		return l
	}
	l := parseLeaf(der)
	if l != nil {
		_, err := f.identities.Verify(l.summary)
		l.identity = err == nil
	}
	f.mu.Lock()
	if len(f.leaves) < maxCacheEntries {
		f.leaves[string(der)] = l
	}
	f.mu.Unlock()
	return l
}

func parseLeaf(der []byte) *fastLeaf {
	cert, err := x509.ParseCertificate(der)
	if err != nil || len(cert.UnhandledCriticalExtensions) > 0 {
		return nil
	}
	key, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil
	}
	l := &fastLeaf{cert: cert, key: key, summary: summary, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	l.v2, l.v2ok = tlog.NewV2Key(&rekortilespb.Verifier{KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		Verifier: &rekortilespb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: der}}})
	return l
}

func parseSafeInt(s string, min int64) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n >= maxSafeInt || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

// setPayload is RFC 8785 canonical JSON of tlog.RekorPayload: keys in UTF-16 order,
// integers (below 2^53) in decimal, strings that need no escaping (base64 and hex).
func setPayload(body []byte, integrated int64, logID string, logIndex int64) []byte {
	b := make([]byte, 0, 80+base64.StdEncoding.EncodedLen(len(body))+len(logID))
	b = append(b, `{"body":"`...)
	b = base64.StdEncoding.AppendEncode(b, body)
	b = append(b, `","integratedTime":`...)
	b = strconv.AppendInt(b, integrated, 10)
	b = append(b, `,"logID":"`...)
	b = append(b, logID...)
	b = append(b, `","logIndex":`...)
	b = strconv.AppendInt(b, logIndex, 10)
	return append(b, '}')
}

// entryV1 checks a Rekor v1 entry (F3, F5-F9) for the bundle's message signature ms
// and leaf, and returns its verified integrated time.
func (f *fastPath) entryV1(e *fastEntry, ms *fastMessage, leaf *fastLeaf) (time.Time, bool) {
	// F3: a Rekor v1 hashedrekord v0.0.1 entry with a proof and a promise.
	if len(e.LogID.KeyID) == 0 || len(e.InclusionPromise.SignedEntryTimestamp) == 0 ||
		len(e.InclusionProof.RootHash) == 0 || e.InclusionProof.Checkpoint.Envelope == "" {
		return time.Time{}, false
	}
	logIndex, ok1 := parseSafeInt(e.LogIndex, 0)
	integrated, ok2 := parseSafeInt(e.IntegratedTime, 1)
	proofIndex, ok3 := parseSafeInt(e.InclusionProof.LogIndex, 0)
	treeSize, ok4 := parseSafeInt(e.InclusionProof.TreeSize, 1)
	// The SET signs the entry's (global) index, the proof is at the index in its shard's
	// tree (sigstore-go uses each where it belongs): they differ on a sharded log.
	if !ok1 || !ok2 || !ok3 || !ok4 || proofIndex >= treeSize {
		return time.Time{}, false
	}
	// F5: the body is exactly the hashedrekord Rekor writes for this bundle's digest,
	// signature and certificate (json.Marshal of its model: data, then signature). So
	// the body's signature is the bundle's, its key is the bundle's certificate (same
	// DER, as CompareKey wants), its digest is the bundle's with algorithm sha256
	// (SHA2_256 on the bundle's side), and the schema validation of the entry holds.
	if !bytes.Equal(e.CanonicalizedBody, tlog.HashedRekordBody(ms.MessageDigest.Digest, ms.Signature, leaf.pem)) {
		return time.Time{}, false
	}
	// F6: a log the trusted root lists, with an ECDSA key.
	logID := hex.EncodeToString(e.LogID.KeyID)
	lg := f.logs[logID]
	if lg == nil {
		return time.Time{}, false
	}
	// F7: SET (tlog.VerifySET): the log key valid at the integrated time, then its
	// signature over the canonical payload.
	at := time.Unix(integrated, 0)
	if lg.tl.ValidityPeriodStart.IsZero() || lg.tl.ValidityPeriodStart.After(at) ||
		(!lg.tl.ValidityPeriodEnd.IsZero() && lg.tl.ValidityPeriodEnd.Before(at)) {
		return time.Time{}, false
	}
	set := sha256.Sum256(setPayload(e.CanonicalizedBody, integrated, logID, logIndex))
	if !ecdsa.VerifyASN1(lg.key, set[:], e.InclusionPromise.SignedEntryTimestamp) {
		return time.Time{}, false
	}
	// F8: RFC 6962 inclusion of the body at logIndex in the tree of treeSize.
	if !proofHashes(e) {
		return time.Time{}, false
	}
	cp := e.InclusionProof.Checkpoint.Envelope
	if lines := strings.Split(cp, "\n"); len(lines) < 4 || !v1STH.MatchString(lines[0]) {
		return time.Time{}, false
	}
	if proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(proofIndex), uint64(treeSize),
		rfc6962.DefaultHasher.HashLeaf(e.CanonicalizedBody), e.InclusionProof.Hashes, e.InclusionProof.RootHash) != nil {
		return time.Time{}, false
	}
	// F9: the checkpoint signed by the log's key, committing to that root hash.
	var sth util.SignedCheckpoint
	if sth.UnmarshalText([]byte(cp)) != nil || !sth.Verify(lg.cp) || !bytes.Equal(sth.Hash, e.InclusionProof.RootHash) {
		return time.Time{}, false
	}
	return at, true
}

// proofHashes: every node of the proof, and its root hash, is a SHA-256 (a null list
// element, nil to encoding/json, is refused by protojson: refused here too).
func proofHashes(e *fastEntry) bool {
	if len(e.InclusionProof.RootHash) != sha256.Size {
		return false
	}
	for _, h := range e.InclusionProof.Hashes {
		if len(h) != sha256.Size {
			return false
		}
	}
	return true
}
