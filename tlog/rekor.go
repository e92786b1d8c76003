// Package tlog records signatures in a Rekor transparency log, v1 (Rekor on Trillian,
// hashedrekord and DSSE entries) or v2 (rekor-tiles: hashedrekord v0.0.2 entries, DSSE
// envelopes recorded as hashedrekord too, see AddDSSE), and
// checks what the log answers before anyone relies on it: the entry must be the one we
// proposed, its inclusion proof must lead to a checkpoint the log signed, and (v1) its
// signed entry timestamp (SET) must verify against the log's key from the trusted root.
// Both share one retrying keep-alive transport (retry.go, internal/httpretry). A log we do not trust,
// or an answer that does not check out, is an error: no bundle is made from it.
package tlog

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorclient "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekorverify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrUntrustedLog means the log's answer is signed by a key the trusted root lacks.
var ErrUntrustedLog = errors.New("rekor: entry is from a log not in the trusted root")

// Rekor is a Rekor v1 client.
type Rekor struct {
	URL     string
	Trusted root.TrustedMaterial // logs whose entries we accept
	Retries uint                 // retries on transport errors and 5xx; 0 means 3
	// RetryWait scales the wait between retries: jittered, from RetryWait/4 doubling
	// up to 4·RetryWait; 1s when zero. See internal/httpretry.
	RetryWait time.Duration
	// MaxRetryAfter is the longest Retry-After obeyed (30 s when zero); a longer one
	// fails the entry rather than stalling the run (httpretry.ErrWaitTooLong).
	MaxRetryAfter time.Duration
	// Sleep waits between retries (for d, or until ctx is done); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient's transport carries the requests (a shared keep-alive transport when
	// nil); retries wrap it.
	HTTPClient *http.Client
	// CheckedLater says the caller verifies every entry Add returns, in the finished
	// bundle and against the same trusted root, before anything uses it (sign's
	// Pipeline: its self-check verifies the SET, the inclusion proof and the
	// checkpoint's signature, and nothing is written when they fail). Add then binds
	// the answer to the proposal and to a log the root lists, and leaves those
	// signatures to that check instead of verifying them twice (a quarter of an Add's
	// CPU).
	CheckedLater bool

	state clientState // the generated client, built once
}

// HashedRekord is what we ask the log to record: a signature over a SHA-256 digest,
// with the certificate (keyless) or public key (key mode) in PEM.
type HashedRekord struct {
	Digest    []byte // SHA-256 of the artifact
	Signature []byte
	PublicPEM []byte // certificate or public key, PEM
}

// Add records r and returns the verified entry in bundle form. A 409 (already
// recorded, e.g. a retried request) is resolved by fetching the existing entry.
func (c *Rekor) Add(ctx context.Context, r HashedRekord) (*rekorpb.TransparencyLogEntry, error) {
	hexDigest := hex.EncodeToString(r.Digest)
	return c.record(ctx, "hashedrekord", HashedRekordBody(r.Digest, r.Signature, r.PublicPEM), func(raw []byte) error { return checkBody(raw, r, hexDigest) })
}

// record proposes an entry (proposed, its JSON), resolves a 409 (already recorded, e.g. a retried request) by
// fetching the existing entry, binds the decoded body to the request with check, verifies its
// inclusion proof and SET against the trusted root, and returns it in bundle form.
func (c *Rekor) record(ctx context.Context, kind string, proposed []byte, check func(body []byte) error) (*rekorpb.TransparencyLogEntry, error) {
	rc, retries, err := c.client()
	if err != nil {
		return nil, err
	}
	payload, conflict, err := c.create(ctx, proposed)
	switch {
	case err != nil:
		return nil, fmt.Errorf("rekor at %s: create %s entry failed after %d retries (check the log URL and the network): %w", c.URL, kind, retries, err)
	case conflict != "":
		uuid := path.Base(conflict)
		if payload, err = c.fetchConflicting(ctx, rc, uuid); err != nil {
			return nil, fmt.Errorf("rekor: entry exists (409) but fetching %s failed: %w", uuid, err)
		}
	}
	if len(payload) != 1 {
		return nil, fmt.Errorf("rekor: answer has %d entries, want 1", len(payload))
	}
	for _, e := range payload {
		s, ok := e.Body.(string)
		if !ok {
			return nil, errors.New("rekor: entry body is not a string")
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("rekor: entry body: %w", err)
		}
		// A body that is our proposal byte for byte (a hashedrekord's is: the log writes
		// back the canonical JSON HashedRekordBody built) is bound to the request, and
		// of its kind and version, as it stands; any other is read and checked.
		same := bytes.Equal(raw, proposed)
		if !same {
			if err := check(raw); err != nil {
				return nil, err
			}
		}
		if err := c.verify(ctx, &e); err != nil {
			return nil, err
		}
		return bundleEntry(&e, raw, kind, same)
	}
	panic("unreachable")
}

// bundleEntry is the verified entry e, whose decoded body raw is a kind entry, in bundle
// form: what rekor's tle.GenerateTransparencyLogEntry builds. That function also
// unmarshals the body through rekor's entry types only to read the kind and API version,
// validating it on the way (parsing the certificate, verifying the signature), 40% of
// an Add's CPU. Here the body's check has already bound it to our own proposal: the kind
// and version are the proposal's, read back from the body, or known when the body is
// the proposal byte for byte (proposal: every proposal is a v0.0.1 entry of kind).
func bundleEntry(e *models.LogEntryAnon, raw []byte, kind string, proposal bool) (*rekorpb.TransparencyLogEntry, error) {
	kv := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}{"0.0.1", kind}
	if !proposal && (json.Unmarshal(raw, &kv) != nil || kv.Kind != kind || kv.APIVersion != "0.0.1") {
		return nil, fmt.Errorf("rekor: the logged entry is not a %s v0.0.1 entry", kind)
	}
	ip := e.Verification.InclusionProof
	if e.LogIndex == nil || e.IntegratedTime == nil || ip.LogIndex == nil || ip.RootHash == nil || ip.TreeSize == nil || ip.Checkpoint == nil {
		return nil, errors.New("rekor: entry lacks its index, time or inclusion proof fields")
	}
	logID, err := hex.DecodeString(*e.LogID)
	if err != nil {
		return nil, fmt.Errorf("rekor: log ID: %w", err)
	}
	rootHash, err := hex.DecodeString(*ip.RootHash)
	if err != nil {
		return nil, fmt.Errorf("rekor: inclusion proof root hash: %w", err)
	}
	hashes := make([][]byte, len(ip.Hashes))
	for i, h := range ip.Hashes {
		if hashes[i], err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("rekor: inclusion proof hash: %w", err)
		}
	}
	return &rekorpb.TransparencyLogEntry{
		LogIndex:         *e.LogIndex, // the global index; the proof's is in its shard's tree
		LogId:            &protocommon.LogId{KeyId: logID},
		KindVersion:      &rekorpb.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:   *e.IntegratedTime,
		InclusionPromise: &rekorpb.InclusionPromise{SignedEntryTimestamp: e.Verification.SignedEntryTimestamp},
		InclusionProof: &rekorpb.InclusionProof{LogIndex: *ip.LogIndex, RootHash: rootHash, TreeSize: *ip.TreeSize,
			Hashes: hashes, Checkpoint: &rekorpb.Checkpoint{Envelope: *ip.Checkpoint}},
		CanonicalizedBody: raw,
	}, nil
}

// maxAnswer bounds a log's answer to a create (a few KiB: one entry and its proof).
const maxAnswer = 1 << 20

// create POSTs the JSON proposed to the log's entries endpoint (createLogEntry in Rekor's
// OpenAPI): 201 is the new entry, 409 the Location of the one already there. It is
// the generated client's call without go-openapi's reflection-driven encoding and
// decoding, a third of an Add's CPU; the retrying transport is the same.
func (c *Rekor) create(ctx context.Context, proposed []byte) (payload models.LogEntry, conflict string, err error) {
	st := &c.state
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.entriesURL, bytes.NewReader(proposed))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := st.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := httpretry.ReadBody(resp, maxAnswer+1)
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("reading the answer: %w", err)
	case len(data) > maxAnswer:
		return nil, "", fmt.Errorf("the answer is over %d bytes", maxAnswer)
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		if err := json.Unmarshal(data, &payload); err != nil {
			return nil, "", fmt.Errorf("the answer is not a log entry: %w", err)
		}
		return payload, "", nil
	case http.StatusConflict:
		if loc := resp.Header.Get("Location"); loc != "" {
			return nil, loc, nil
		}
		return nil, "", errors.New("409 without the existing entry's Location")
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return nil, "", fmt.Errorf("[POST %s] %s: %.300s", req.URL.Path, resp.Status, e.Message)
	}
	return nil, "", fmt.Errorf("[POST %s] %s", req.URL.Path, resp.Status)
}

// conflictWaits are the waits between fetches of an entry the log answered 409 for
// while it answers 404: Rekor v1 says 409 as soon as Trillian has queued the leaf (a
// retried POST whose first attempt failed late, under load), and serves the entry only
// once it is sequenced, a second or more later.
var conflictWaits = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second, 4 * time.Second}

// fetchConflicting gets the entry uuid, waiting while the log does not serve it yet.
func (c *Rekor) fetchConflicting(ctx context.Context, rc *rekorclient.Rekor, uuid string) (models.LogEntry, error) {
	sleep := c.Sleep
	if sleep == nil {
		sleep = httpretry.Sleep
	}
	for i := 0; ; i++ {
		got, err := rc.Entries.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(ctx).WithEntryUUID(uuid))
		if err == nil {
			return got.Payload, nil
		}
		var notYet *entries.GetLogEntryByUUIDNotFound
		if !errors.As(err, &notYet) || i == len(conflictWaits) {
			if i > 0 {
				return nil, fmt.Errorf("after %d attempts: %w", i+1, err)
			}
			return nil, err
		}
		if err := sleep(ctx, conflictWaits[i]); err != nil {
			return nil, err
		}
	}
}

// checkBody binds the answer to the request: the logged body must be our signature,
// digest and certificate.
func checkBody(raw []byte, r HashedRekord, hexDigest string) error {
	var got struct {
		Kind string `json:"kind"`
		Spec struct {
			Signature struct {
				Content   []byte `json:"content"`
				PublicKey struct {
					Content []byte `json:"content"`
				} `json:"publicKey"`
			} `json:"signature"`
			Data struct {
				Hash struct {
					Algorithm string `json:"algorithm"`
					Value     string `json:"value"`
				} `json:"hash"`
			} `json:"data"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("rekor: entry body: %w", err)
	}
	if got.Kind != "hashedrekord" || !bytes.Equal(got.Spec.Signature.Content, r.Signature) ||
		!bytes.Equal(got.Spec.Signature.PublicKey.Content, r.PublicPEM) ||
		got.Spec.Data.Hash.Algorithm != "sha256" || !strings.EqualFold(got.Spec.Data.Hash.Value, hexDigest) {
		return errors.New("rekor: the logged entry is not the one we proposed")
	}
	return nil
}

func (c *Rekor) verify(ctx context.Context, e *models.LogEntryAnon) error {
	if e.LogID == nil {
		return errors.New("rekor: entry has no log ID")
	}
	if c.Trusted == nil {
		return fmt.Errorf("%w: no trusted root given", ErrUntrustedLog)
	}
	tl, ok := c.Trusted.RekorLogs()[*e.LogID]
	if !ok {
		return fmt.Errorf("%w (log ID %s)", ErrUntrustedLog, *e.LogID)
	}
	if e.Verification == nil || e.Verification.InclusionProof == nil {
		return errors.New("rekor: entry has no inclusion proof")
	}
	if c.CheckedLater {
		return nil
	}
	v, err := signature.LoadVerifier(tl.PublicKey, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("rekor: log key: %w", err)
	}
	// VerifyLogEntry checks the inclusion proof against the checkpoint, the checkpoint's
	// signature, and the SET over {body, integratedTime, logID, logIndex}.
	if err := rekorverify.VerifyLogEntry(ctx, e, v); err != nil {
		return fmt.Errorf("rekor: entry does not verify against the trusted log key: %w", err)
	}
	return nil
}
