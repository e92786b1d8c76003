package verify

// The fast path for a Rekor v2 (rekor-tiles) entry: what sigstore-go v1.3.0's
// VerifyTlogEntry checks for a hashedrekord v0.0.2 entry with an inclusion proof and
// no promise, and where entryV2 does it ("V n" marks the step in the code). The rest
// of the bundle (F1, F2, F4, F10-F15) is fastAccept's, with the verified times the
// bundle's RFC 3161 tokens alone: a v2 entry signs no time, so at least one token
// must verify, as WithObserverTimestamps(1) (cachet verify) or WithSignedTimestamps(n)
// (a signing run's self-check) require.
//
//	tlog.ParseTransparencyLogEntry: body, logIndex >= 0, logId, kindVersion, a
//	  checkpoint; the body parses as a Rekor v2 Entry (protojson), hashedRekordV002,
//	  apiVersion 0.0.2 (not a v1 body) ......................................... V1, V2
//	ValidateEntry: signature content, verifier (typesverifier.Validate), data ... V2 (body rebuilt from the bundle)
//	log ID listed in the trusted root ........................................... V3
//	inclusion proof required for v2; no promise (VerifySET refuses a v2 entry) . V1
//	not a v1 STH (checkpoint origin without a tree ID suffix) .................. V4
//	baseUrl set; note verifier for its host name with the log's key; checkpoint
//	  signed (f_log.ParseCheckpoint); RFC 6962 inclusion of the entry hash
//	  rebuilt from the bundle (reconstructV2EntryHash: certificate, signature,
//	  digest) at the entry's logIndex in the checkpoint's tree ................. V4, V5
//	no integrated time to check against the certificate (none is set) .......... V1

import (
	"bytes"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdb "golang.org/x/mod/sumdb/note"
)

// fastLogV2 is a log of the trusted root as sigstore-go checks a v2 entry's checkpoint
// against it: the note verifier for its base URL's host name and its key.
type fastLogV2 struct {
	nv sumdb.Verifier
}

// newFastLogV2 is the v2 verifier for tl, or nil when sigstore-go would refuse every
// v2 entry of it (no base URL, a key it cannot load) or the name is not a note name.
func newFastLogV2(tl *root.TransparencyLog) *fastLogV2 {
	if tl.BaseURL == "" {
		return nil
	}
	u, err := url.Parse(tl.BaseURL)
	if err != nil {
		return nil
	}
	sv, err := signature.LoadVerifier(tl.PublicKey, tl.SignatureHashFunc)
	if err != nil {
		return nil
	}
	nv, err := note.NewNoteVerifier(u.Hostname(), sv)
	if err != nil {
		return nil
	}
	return &fastLogV2{nv: nv}
}

// verifiedCheckpoint is a checkpoint the log signed: its tree size and root hash.
type verifiedCheckpoint struct {
	size uint64
	hash []byte
}

// checkpoint verifies cp as rekor-tiles' VerifyCheckpoint does (f_log.ParseCheckpoint
// with the log's note verifier, the origin its name). The answer is a function of the
// text and the log alone, so one the log signed is kept: every entry a log integrates
// in one batch carries the same checkpoint, and a run signs or verifies many of them.
func (f *fastPath) checkpoint(logID string, lg *fastLogV2, cp string) (verifiedCheckpoint, bool) {
	key := logID + "\n" + cp
	lookup := func() (verifiedCheckpoint, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		c, ok := f.checkpoints[key]
		return c, ok
	}
	if c, ok := lookup(); ok {
		return c, true
	}
	defer f.locks.lock("checkpoint\n" + key)()
	if c, ok := lookup(); ok {
		return c, true
	}
	parsed, _, _, err := f_log.ParseCheckpoint([]byte(cp), lg.nv.Name(), lg.nv)
	if err != nil {
		return verifiedCheckpoint{}, false
	}
	c := verifiedCheckpoint{size: parsed.Size, hash: parsed.Hash}
	f.mu.Lock()
	if len(f.checkpoints) < maxCacheEntries {
		f.checkpoints[key] = c
	}
	f.mu.Unlock()
	return c, true
}

// entryV2 checks a Rekor v2 entry (V1-V5) for the bundle's message signature ms and
// leaf.
func (f *fastPath) entryV2(e *fastEntry, ms *fastMessage, leaf *fastLeaf) bool {
	// V1: an inclusion proof with a checkpoint, no promise, no integrated time.
	cp := e.InclusionProof.Checkpoint.Envelope
	if len(e.LogID.KeyID) == 0 || len(e.InclusionPromise.SignedEntryTimestamp) != 0 || e.IntegratedTime != "" || cp == "" {
		return false
	}
	logIndex, ok1 := parseSafeInt(e.LogIndex, 0)
	proofIndex, ok2 := parseSafeInt(e.InclusionProof.LogIndex, 0)
	treeSize, ok3 := parseSafeInt(e.InclusionProof.TreeSize, 1)
	// sigstore-go proves the entry's logIndex into the checkpoint's tree; the proof's
	// own index, size and root hash are required to say the same.
	if !ok1 || !ok2 || !ok3 || proofIndex != logIndex || logIndex >= treeSize || !proofHashes(e) {
		return false
	}
	// V2: the body is exactly the canonical entry rebuilt from the bundle's digest,
	// signature and certificate; so it parses as a v0.0.2 hashedrekord whose
	// signature, verifier and data are set and valid, and its leaf hash is the entry
	// hash sigstore-go reconstructs.
	if !leaf.v2ok {
		return false
	}
	body := leaf.v2.Body(ms.MessageDigest.Digest, ms.Signature)
	if !bytes.Equal(e.CanonicalizedBody, body) {
		return false
	}
	// V3: a log the trusted root lists, with a v2 verifier.
	logID := hex.EncodeToString(e.LogID.KeyID)
	lg := f.logsV2[logID]
	if lg == nil {
		return false
	}
	// V4: a v2 checkpoint (no tree ID in the origin) the log signed.
	if lines := strings.Split(cp, "\n"); len(lines) >= 4 && v1STH.MatchString(lines[0]) {
		return false
	}
	c, ok := f.checkpoint(logID, lg, cp)
	if !ok || c.size != uint64(treeSize) || !bytes.Equal(c.hash, e.InclusionProof.RootHash) {
		return false
	}
	// V5: the entry hash included at logIndex in the checkpoint's tree.
	return proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(logIndex), c.size,
		rfc6962.DefaultHasher.HashLeaf(body), e.InclusionProof.Hashes, c.hash) == nil
}
