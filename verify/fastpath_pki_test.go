package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/tlog"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/transparency-dev/merkle/rfc6962"
)

// rekorFault is what is wrong with a synthetic Rekor v1 bundle; the log signs it all
// the same, so only the checks after the log's signatures can refuse it.
type rekorFault int

const (
	rekorGood          rekorFault = iota
	rekorBadSig                   // the logged signature is over another digest
	rekorBeforeLeaf               // integrated an hour before the leaf's validity
	rekorOtherRoot                // the checkpoint is signed for another tree root
	rekorOtherIndexSET            // the SET signs another log index than the entry's
	rekorNoteFFFD                 // good, the checkpoint has a line holding U+FFFD
	rekorNoteNoTreeID             // the checkpoint's origin has no " - <tree id>" (not a v1 STH)
)

// rekorBundle is a v0.3 bundle of the fast path's shape made with the test PKI and a
// Rekor log key of the test's own: one entry in a tree of one, its SET and checkpoint.
func (p *testPKI) rekorBundle(t *testing.T, logKey *ecdsa.PrivateKey, key *ecdsa.PrivateKey, leaf *x509.Certificate,
	artifact []byte, fault rekorFault) []byte {
	t.Helper()
	digest := sha256.Sum256(artifact)
	signed := digest
	if fault == rekorBadSig {
		signed = sha256.Sum256(append(artifact, '!'))
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	body := tlog.HashedRekordBody(digest[:], sig, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))
	logDER, _ := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	logID := sha256.Sum256(logDER)
	integrated := leaf.NotBefore.Add(time.Minute).Unix()
	if fault == rekorBeforeLeaf {
		integrated = leaf.NotBefore.Add(-time.Hour).Unix()
	}
	var logIndex int64
	setIndex := logIndex
	if fault == rekorOtherIndexSET {
		setIndex = 7
	}
	setHash := sha256.Sum256(setPayload(body, integrated, hex.EncodeToString(logID[:]), setIndex))
	set, err := ecdsa.SignASN1(rand.Reader, logKey, setHash[:])
	if err != nil {
		t.Fatal(err)
	}
	rootHash := rfc6962.DefaultHasher.HashLeaf(body)
	cpHash := rootHash
	if fault == rekorOtherRoot {
		cpHash = rfc6962.DefaultHasher.HashLeaf([]byte("another entry"))
	}
	c := util.Checkpoint{Origin: "rekor.test - 42", Size: 1, Hash: cpHash}
	if fault == rekorNoteNoTreeID {
		c.Origin = "rekor.test"
	}
	if fault == rekorNoteFFFD {
		c.OtherContent = []string{"x\uFFFDy"}
	}
	cp, err := util.CreateSignedCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadECDSASignerVerifier(logKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Sign("rekor.test", signer, options.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	envelope, err := cp.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	b := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{
			"certificate": map[string]any{"rawBytes": leaf.Raw},
			"tlogEntries": []any{map[string]any{
				"logIndex":          strconv.FormatInt(logIndex, 10),
				"logId":             map[string]any{"keyId": logID[:]},
				"kindVersion":       map[string]any{"kind": "hashedrekord", "version": "0.0.1"},
				"integratedTime":    strconv.FormatInt(integrated, 10),
				"inclusionPromise":  map[string]any{"signedEntryTimestamp": set},
				"inclusionProof":    map[string]any{"logIndex": "0", "rootHash": rootHash, "treeSize": "1", "hashes": []any{}, "checkpoint": map[string]any{"envelope": string(envelope)}},
				"canonicalizedBody": body,
			}},
		},
		"messageSignature": map[string]any{"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": digest[:]}, "signature": sig},
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rekorRoot is p's root (CA, CT log) with the Rekor log key logKey listed under id
// (its own when nil) from start to end.
func rekorRoot(t *testing.T, p *testPKI, logKey *ecdsa.PrivateKey, id []byte, start, end time.Time) *root.TrustedRoot {
	t.Helper()
	logDER, _ := x509.MarshalPKIXPublicKey(&logKey.PublicKey)
	own := sha256.Sum256(logDER)
	if id == nil {
		id = own[:]
	}
	logs := map[string]*root.TransparencyLog{hex.EncodeToString(id): {ID: id, PublicKey: &logKey.PublicKey,
		HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: start, ValidityPeriodEnd: end,
		BaseURL: "https://rekor.test"}}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, p.root.FulcioCertificateAuthorities(),
		p.root.CTLogs(), nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestFastPathSignedFaults: bundles whose log entry, SET and checkpoint the log really
// signed, each with one fault only the checks after those signatures see, and roots
// that do not trust the log for that entry: never accepted by the fast path, refused by
// the slow path; the good one is handled with the slow path's result.
func TestFastPathSignedFaults(t *testing.T) {
	p := newTestPKI(t, time.Time{})
	other := newTestPKI(t, time.Time{}) // another CA
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := p.issueFor(t, key, p.now.Add(-5*time.Minute), false)
	foreign := other.issueFor(t, key, p.now.Add(-5*time.Minute), false)
	artifact := []byte("synthetic artifact\n")
	digest := sha256.Sum256(artifact)
	policy := func() *Policy { return &Policy{Identity: testSAN, Issuer: testIssuer} }
	trusted := rekorRoot(t, p, logKey, nil, p.now.Add(-24*time.Hour), time.Time{})

	good := p.rekorBundle(t, logKey, key, leaf, artifact, rekorGood)
	if !newFastPair(t, trusted, policy).differential(t, "good", digest[:], good) {
		t.Fatal("good synthetic bundle: not handled")
	}
	// The log signed a checkpoint with U+FFFD in it. Written as UTF-8 it is good; as a
	// lone surrogate escape or an invalid UTF-8 byte, encoding/json would read U+FFFD
	// again (and the signature verify) where protojson refuses the bundle.
	fffd := p.rekorBundle(t, logKey, key, leaf, artifact, rekorNoteFFFD)
	if !bytes.Contains(fffd, []byte("\uFFFD")) {
		t.Fatal("no U+FFFD in the bundle")
	}
	if !newFastPair(t, trusted, policy).differential(t, "U+FFFD in the checkpoint", digest[:], fffd) {
		t.Fatal("checkpoint with U+FFFD: not handled")
	}
	refused := map[string]struct {
		tm   *root.TrustedRoot
		data []byte
	}{
		"bad signature, logged":         {trusted, p.rekorBundle(t, logKey, key, leaf, artifact, rekorBadSig)},
		"integrated before the leaf":    {trusted, p.rekorBundle(t, logKey, key, leaf, artifact, rekorBeforeLeaf)},
		"checkpoint of another root":    {trusted, p.rekorBundle(t, logKey, key, leaf, artifact, rekorOtherRoot)},
		"SET of another index":          {trusted, p.rekorBundle(t, logKey, key, leaf, artifact, rekorOtherIndexSET)},
		"leaf of an untrusted CA":       {trusted, p.rekorBundle(t, logKey, key, foreign, artifact, rekorGood)},
		"log valid only later":          {rekorRoot(t, p, logKey, nil, p.now.Add(time.Hour), time.Time{}), good},
		"log valid only before":         {rekorRoot(t, p, logKey, nil, p.now.Add(-48*time.Hour), p.now.Add(-24*time.Hour)), good},
		"log without validity start":    {rekorRoot(t, p, logKey, nil, time.Time{}, time.Time{}), good},
		"checkpoint lone surrogate":     {trusted, bytes.Replace(fffd, []byte("\uFFFD"), []byte(`\ud800`), 1)},
		"checkpoint invalid UTF-8":      {trusted, bytes.Replace(fffd, []byte("\uFFFD"), []byte("\xff"), 1)},
		"checkpoint not a v1 STH":       {trusted, p.rekorBundle(t, logKey, key, leaf, artifact, rekorNoteNoTreeID)},
		"log key listed under other id": {rekorRoot(t, p, logKey, []byte("another log id, 32 bytes long..."), p.now.Add(-24*time.Hour), time.Time{}), good},
	}
	for name, c := range refused {
		fp := newFastPair(t, c.tm, policy)
		if fp.differential(t, name, digest[:], c.data) {
			t.Errorf("%s: accepted by the fast path", name)
		}
		if r := fp.slow.Verify(t.Context(), Subject{Digest: digest[:], Bundle: writeRaw(t, c.data)}); r.Verified {
			t.Errorf("%s: the slow path accepts it (the fault is not one)", name)
		}
	}
}
