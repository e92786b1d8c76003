package bundle

import (
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	dsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// Envelope is what an attestation bundle holds: a DSSE envelope (an in-toto statement)
// instead of a message signature.
type Envelope struct {
	Certificate []byte // leaf certificate DER (keyless); nil in key mode
	KeyHint     string // key mode: the key's identifier
	Envelope    *dsse.Envelope
	TlogEntries []*rekorpb.TransparencyLogEntry
	Timestamps  [][]byte // DER TimeStampResp each, over the envelope's signature
}

// NewDSSE assembles and validates an attestation bundle.
func NewDSSE(m Envelope) (*sgbundle.Bundle, error) {
	if m.Envelope == nil || len(m.Envelope.GetSignatures()) == 0 {
		return nil, errors.New("bundle: no signed DSSE envelope")
	}
	vm, err := verificationMaterial(m.Certificate, m.KeyHint, m.TlogEntries, m.Timestamps)
	if err != nil {
		return nil, err
	}
	pb := &protobundle.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: vm,
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: m.Envelope},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}

// Encode returns b's JSON, the bytes WriteFile writes and a registry stores.
func Encode(b *sgbundle.Bundle) ([]byte, error) {
	data, err := b.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("bundle: encode: %w", err)
	}
	return data, nil
}

// WriteBytes writes encoded bundle JSON to path atomically, like WriteFile.
func WriteBytes(path string, data []byte) error { return writeAtomic(path, data) }
