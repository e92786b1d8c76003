package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/internal/httpretry"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	rekortilesverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/encoding/protojson"
)

// Log is a transparency log a signing run records its signatures in: Rekor v1 (*Rekor)
// or Rekor v2 (*RekorV2). Every method returns an entry already checked against the
// trusted root, in bundle form.
type Log interface {
	Add(ctx context.Context, r HashedRekord) (*rekorpb.TransparencyLogEntry, error)
	AddDSSE(ctx context.Context, d DSSE) (*rekorpb.TransparencyLogEntry, error)
	// IntegratedTime says whether the log's entries carry a signed time (a v1 SET).
	// Without one, a bundle needs an RFC 3161 timestamp to say when it was signed.
	IntegratedTime() bool
}

// IntegratedTime is true: a Rekor v1 entry's SET signs its integration time.
func (c *Rekor) IntegratedTime() bool { return true }

// ErrNeedsTimestamp is a Rekor v2 log chosen with no TSA: v2 entries carry no signed
// integration time, so nothing would say the signature was made while the short-lived
// certificate was valid.
var ErrNeedsTimestamp = errors.New("Rekor v2 entries carry no signed time: an RFC 3161 timestamp is required; add a TSA to the signing config")

// ErrDuplicateV2 is Rekor v2's 409: the log already holds an equal entry (logs run with
// persistent anti-spam). The v2 API gives no way to fetch it by content, so the caller
// signs again: a fresh ECDSA signature is a new entry.
var ErrDuplicateV2 = errors.New("rekor v2: the log already holds this entry (409)")

// RekorV2 is a Rekor v2 (rekor-tiles) client. It writes hashedrekord v0.0.2 entries
// through POST /api/v2/log/entries and checks the answer before returning it: the
// log's ID must be a Rekor log of the trusted root, the checkpoint must be signed by
// that log's key under its origin (the host of the log's base URL, as sigstore-go
// verifies), and the inclusion proof must lead from the entry we proposed (its leaf
// hash rebuilt from our digest, signature and key, not from the log's copy) to the
// checkpoint's root. Rekor v2 entries have no integrated time: bundles need an RFC 3161
// timestamp.
//
// Why not rekor-tiles' write client: it cannot take a transport (no retries, no
// keep-alive pool shared with the workers), and treats every non-201 alike.
type RekorV2 struct {
	URL           string
	Trusted       root.TrustedMaterial
	Retries       uint                                             // see Rekor
	RetryWait     time.Duration                                    // see Rekor
	MaxRetryAfter time.Duration                                    // see Rekor
	HTTPClient    *http.Client                                     // see Rekor
	Sleep         func(ctx context.Context, d time.Duration) error // see Rekor
	// CheckedLater: as Rekor's; Add binds the answer to the proposal and a log the
	// root lists, and leaves the checkpoint's signature and the inclusion proof to the
	// caller's check of the finished bundle.
	CheckedLater bool

	once sync.Once
	hc   *http.Client
	u    *url.URL
	err  error

	mu   sync.Mutex
	keys map[string]string // public PEM -> v2VerifierJSON
}

// IntegratedTime is false: Rekor v2 signs checkpoints, not entry times.
func (c *RekorV2) IntegratedTime() bool { return false }

// maxV2Response bounds the answer read from the log (a TLE is a few KiB).
const maxV2Response = 1 << 20

// Add records r as a hashedrekord v0.0.2 entry.
func (c *RekorV2) Add(ctx context.Context, r HashedRekord) (*rekorpb.TransparencyLogEntry, error) {
	return c.add(ctx, r.Digest, r.Signature, r.PublicPEM)
}

// AddDSSE records d the way Rekor v2 takes DSSE envelopes: a hashedrekord v0.0.2 entry
// over the SHA-256 of the envelope's PAE, with the envelope's one signature (rekor-tiles
// v2.3.0 refuses its dsse type; sigstore-go and cosign sign and verify DSSE bundles so).
func (c *RekorV2) AddDSSE(ctx context.Context, d DSSE) (*rekorpb.TransparencyLogEntry, error) {
	if d.Envelope == nil || len(d.Envelope.GetSignatures()) != 1 {
		return nil, errors.New("rekor v2: a dsse entry here carries exactly one signature")
	}
	h := sha256.Sum256(attest.PAE(d.Envelope.GetPayloadType(), d.Envelope.GetPayload()))
	return c.add(ctx, h[:], d.Envelope.GetSignatures()[0].GetSig(), d.PublicPEM)
}

func (c *RekorV2) add(ctx context.Context, digest, sig, publicPEM []byte) (*rekorpb.TransparencyLogEntry, error) {
	c.once.Do(func() {
		retries := c.Retries
		if retries == 0 {
			retries = 3
		}
		c.u, c.hc, c.err = retrying(c.URL, retries, c.RetryWait, c.MaxRetryAfter, c.HTTPClient, c.Sleep)
	})
	if c.err != nil {
		return nil, c.err
	}
	vj, err := c.verifierJSON(publicPEM)
	if err != nil {
		return nil, err
	}
	endpoint := c.u.JoinPath("/api/v2/log/entries").String()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(v2Request(digest, sig, vj)))
	if err != nil {
		return nil, fmt.Errorf("rekor v2: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("rekor v2 at %s: create entry failed (check the log URL and the network): %w", c.URL, err)
	}
	defer resp.Body.Close()
	answer, err := httpretry.ReadBody(resp, maxV2Response)
	if err != nil {
		return nil, fmt.Errorf("rekor v2 at %s: read answer: %w", c.URL, err)
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return nil, fmt.Errorf("%w: %s", ErrDuplicateV2, short(answer))
	case resp.StatusCode != http.StatusCreated:
		return nil, fmt.Errorf("rekor v2 at %s: create entry: HTTP %d: %s", c.URL, resp.StatusCode, short(answer))
	}
	var tle rekorpb.TransparencyLogEntry
	if err := protojson.Unmarshal(answer, &tle); err != nil {
		return nil, fmt.Errorf("rekor v2 at %s: answer is not a transparency log entry: %w", c.URL, err)
	}
	want := v2Body(digest, sig, vj)
	tl, err := bindV2Entry(&tle, c.Trusted, want)
	if err != nil {
		return nil, err
	}
	if c.CheckedLater {
		return &tle, nil
	}
	if err := proveV2Entry(&tle, tl, rfc6962.DefaultHasher.HashLeaf(want)); err != nil {
		return nil, err
	}
	return &tle, nil
}

// verifierJSON is v2VerifierJSON of the key publicPEM holds (v2Verifier), kept for the
// run: every entry of a keyless run names the same certificate.
func (c *RekorV2) verifierJSON(publicPEM []byte) (string, error) {
	c.mu.Lock()
	vj, ok := c.keys[string(publicPEM)]
	c.mu.Unlock()
	if ok {
		return vj, nil
	}
	v, err := v2Verifier(publicPEM)
	if err != nil {
		return "", err
	}
	vj, ok = v2VerifierJSON(v)
	if !ok {
		return "", errors.New("rekor v2: no entry form for this key")
	}
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[string]string{}
	}
	if len(c.keys) < 16 {
		c.keys[string(publicPEM)] = vj
	}
	c.mu.Unlock()
	return vj, nil
}

// bindV2Entry checks that a Rekor v2 answer is the entry we proposed: kind hashedrekord
// 0.0.2, a log the trusted root lists, the canonicalized body byte-equal to want (the
// entry rebuilt from what was signed), and a checkpoint to prove it against
// (proveV2Entry).
func bindV2Entry(tle *rekorpb.TransparencyLogEntry, trusted root.TrustedMaterial, want []byte) (*root.TransparencyLog, error) {
	kv := tle.GetKindVersion()
	if kv.GetKind() != "hashedrekord" || kv.GetVersion() != "0.0.2" {
		return nil, fmt.Errorf("rekor v2: entry is %s %s, want hashedrekord 0.0.2", kv.GetKind(), kv.GetVersion())
	}
	if trusted == nil {
		return nil, fmt.Errorf("%w: no trusted root given", ErrUntrustedLog)
	}
	id := hex.EncodeToString(tle.GetLogId().GetKeyId())
	tl, ok := trusted.RekorLogs()[id]
	if !ok {
		return nil, fmt.Errorf("%w (log ID %s): add the Rekor v2 log to the trusted root", ErrUntrustedLog, id)
	}
	if !bytes.Equal(tle.GetCanonicalizedBody(), want) {
		return nil, errors.New("rekor v2: the logged entry is not the one we proposed")
	}
	if tle.GetInclusionProof().GetCheckpoint().GetEnvelope() == "" {
		return nil, errors.New("rekor v2: entry has no inclusion proof with a checkpoint")
	}
	return tl, nil
}

// proveV2Entry checks the inclusion proof from wantLeaf to a checkpoint tl signed under
// its origin (the host of its base URL, as sigstore-go verifies).
func proveV2Entry(tle *rekorpb.TransparencyLogEntry, tl *root.TransparencyLog, wantLeaf []byte) error {
	id := hex.EncodeToString(tle.GetLogId().GetKeyId())
	u, err := url.Parse(tl.BaseURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("rekor v2: trusted root gives log %s no base URL; the checkpoint origin is its host", id)
	}
	hf := tl.SignatureHashFunc
	if hf == 0 {
		hf = crypto.SHA256
	}
	sv, err := signature.LoadVerifier(tl.PublicKey, hf)
	if err != nil {
		return fmt.Errorf("rekor v2: log key: %w", err)
	}
	nv, err := note.NewNoteVerifier(u.Hostname(), sv)
	if err != nil {
		return fmt.Errorf("rekor v2: log key: %w", err)
	}
	if err := rekortilesverify.VerifyLogEntryWithHash(tle, nv, wantLeaf); err != nil {
		return fmt.Errorf("rekor v2: entry does not verify against the trusted log key (origin %s): %w", u.Hostname(), err)
	}
	return nil
}

// v2Verifier names the signer's key the way a hashedrekord v0.0.2 entry does: the
// certificate (keyless) or public key (key mode) in DER, and its algorithm.
func v2Verifier(publicPEM []byte) (*rekortilespb.Verifier, error) {
	block, _ := pem.Decode(publicPEM)
	if block == nil {
		return nil, errors.New("rekor v2: no PEM certificate or public key")
	}
	var pub crypto.PublicKey
	v := &rekortilespb.Verifier{}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("rekor v2: certificate: %w", err)
		}
		pub = cert.PublicKey
		v.Verifier = &rekortilespb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: block.Bytes}}
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("rekor v2: public key: %w", err)
		}
		pub = k
		v.Verifier = &rekortilespb.Verifier_PublicKey{PublicKey: &rekortilespb.PublicKey{RawBytes: block.Bytes}}
	default:
		return nil, fmt.Errorf("rekor v2: PEM block %q is neither a certificate nor a public key", block.Type)
	}
	ad, err := signature.GetDefaultAlgorithmDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("rekor v2: key algorithm: %w", err)
	}
	if ad.GetHashType() != crypto.SHA256 {
		// cachet signs SHA-256 digests; a P-384 key would want SHA-384.
		return nil, fmt.Errorf("rekor v2: key algorithm %s does not sign SHA-256 digests", ad.GetSignatureAlgorithm())
	}
	v.KeyDetails = ad.GetSignatureAlgorithm()
	return v, nil
}

// short is the first line of an error body, bounded, for messages.
func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
