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

	"github.com/go-openapi/swag"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/tle"
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
	proposed := &models.Hashedrekord{
		APIVersion: swag.String("0.0.1"),
		Spec: models.HashedrekordV001Schema{
			Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
				Algorithm: swag.String(models.HashedrekordV001SchemaDataHashAlgorithmSha256), Value: swag.String(hexDigest)}},
			Signature: &models.HashedrekordV001SchemaSignature{Content: r.Signature,
				PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: r.PublicPEM}},
		},
	}
	return c.record(ctx, "hashedrekord", proposed, func(raw []byte) error { return checkBody(raw, r, hexDigest) })
}

// record proposes an entry, resolves a 409 (already recorded, e.g. a retried request) by
// fetching the existing entry, binds the decoded body to the request with check, verifies its
// inclusion proof and SET against the trusted root, and returns it in bundle form.
func (c *Rekor) record(ctx context.Context, kind string, proposed models.ProposedEntry, check func(body []byte) error) (*rekorpb.TransparencyLogEntry, error) {
	rc, retries, err := c.client()
	if err != nil {
		return nil, err
	}
	params := entries.NewCreateLogEntryParamsWithContext(ctx).WithProposedEntry(proposed)
	var payload models.LogEntry
	resp, err := rc.Entries.CreateLogEntry(params)
	var conflict *entries.CreateLogEntryConflict
	switch {
	case err == nil:
		payload = resp.Payload
	case errors.As(err, &conflict):
		uuid := path.Base(conflict.Location.String())
		got, err := rc.Entries.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(ctx).WithEntryUUID(uuid))
		if err != nil {
			return nil, fmt.Errorf("rekor: entry exists (409) but fetching %s failed: %w", uuid, err)
		}
		payload = got.Payload
	default:
		return nil, fmt.Errorf("rekor at %s: create %s entry failed after %d retries (check --rekor-url and the network): %w", c.URL, kind, retries, err)
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
		if err := check(raw); err != nil {
			return nil, err
		}
		if err := c.verify(ctx, &e); err != nil {
			return nil, err
		}
		return tle.GenerateTransparencyLogEntry(e)
	}
	panic("unreachable")
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
	v, err := signature.LoadVerifier(tl.PublicKey, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("rekor: log key: %w", err)
	}
	if e.Verification == nil || e.Verification.InclusionProof == nil {
		return errors.New("rekor: entry has no inclusion proof")
	}
	// VerifyLogEntry checks the inclusion proof against the checkpoint, the checkpoint's
	// signature, and the SET over {body, integratedTime, logID, logIndex}.
	if err := rekorverify.VerifyLogEntry(ctx, e, v); err != nil {
		return fmt.Errorf("rekor: entry does not verify against the trusted log key: %w", err)
	}
	return nil
}
