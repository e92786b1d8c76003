package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag"
	dsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
)

// DSSE is a signed DSSE envelope to record as a Rekor v1 `dsse` entry (v0.0.1): Rekor
// checks every signature over the envelope's PAE with the given certificate or key and
// logs the payload hash and the signatures. sigstore-go and cosign verify this kind for
// bundles with a dsseEnvelope.
type DSSE struct {
	Envelope  *dsse.Envelope
	PublicPEM []byte // certificate or public key, PEM; one per signature
}

// envelopeJSON is the DSSE envelope in its JSON form (payload and sigs base64), what
// Rekor's proposedContent.envelope holds.
func envelopeJSON(e *dsse.Envelope) ([]byte, error) {
	type sig struct {
		KeyID string `json:"keyid"`
		Sig   []byte `json:"sig"`
	}
	out := struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
		Signatures  []sig  `json:"signatures"`
	}{PayloadType: e.GetPayloadType(), Payload: e.GetPayload()}
	for _, s := range e.GetSignatures() {
		out.Signatures = append(out.Signatures, sig{KeyID: s.GetKeyid(), Sig: s.GetSig()})
	}
	return json.Marshal(out)
}

// AddDSSE records d and returns the verified entry in bundle form. Like Add, a 409 is
// resolved by fetching the existing entry, and the answer must be the entry we proposed,
// with an inclusion proof and SET that verify against the trusted root.
func (c *Rekor) AddDSSE(ctx context.Context, d DSSE) (*rekorpb.TransparencyLogEntry, error) {
	if d.Envelope == nil || len(d.Envelope.GetSignatures()) != 1 {
		return nil, errors.New("rekor: a dsse entry here carries exactly one signature")
	}
	env, err := envelopeJSON(d.Envelope)
	if err != nil {
		return nil, fmt.Errorf("rekor: encode envelope: %w", err)
	}
	proposed := &models.DSSE{
		APIVersion: swag.String("0.0.1"),
		Spec: models.DSSEV001Schema{ProposedContent: &models.DSSEV001SchemaProposedContent{
			Envelope: swag.String(string(env)), Verifiers: []strfmt.Base64{d.PublicPEM}}},
	}
	body, err := json.Marshal(proposed)
	if err != nil {
		return nil, fmt.Errorf("rekor: encode dsse entry: %w", err)
	}
	return c.record(ctx, "dsse", body, func(raw []byte) error { return checkDSSEBody(raw, d) })
}

// checkDSSEBody binds the answer to the request: the logged entry must be a dsse entry
// with our payload's hash, our signature and our certificate.
func checkDSSEBody(raw []byte, d DSSE) error {
	var got struct {
		Kind string `json:"kind"`
		Spec struct {
			PayloadHash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"payloadHash"`
			Signatures []struct {
				Signature string `json:"signature"`
				Verifier  []byte `json:"verifier"`
			} `json:"signatures"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("rekor: entry body: %w", err)
	}
	ph := sha256.Sum256(d.Envelope.GetPayload())
	want := base64.StdEncoding.EncodeToString(d.Envelope.GetSignatures()[0].GetSig())
	if got.Kind != "dsse" || got.Spec.PayloadHash.Algorithm != "sha256" || got.Spec.PayloadHash.Value != hex.EncodeToString(ph[:]) ||
		len(got.Spec.Signatures) != 1 || got.Spec.Signatures[0].Signature != want ||
		!bytes.Equal(got.Spec.Signatures[0].Verifier, d.PublicPEM) {
		return errors.New("rekor: the logged dsse entry is not the one we proposed")
	}
	return nil
}
