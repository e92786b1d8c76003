// Package bundle assembles Sigstore bundles (v0.3, protobuf-specs types) and writes them
// atomically: a bundle file either exists whole or not at all.
package bundle

import (
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// MediaType is the v0.3 bundle media type.
const MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// MessageSignature is what a blob signature bundle holds.
type MessageSignature struct {
	Certificate []byte // leaf certificate DER (keyless); nil in key mode
	KeyHint     string // key mode: the key's identifier
	Digest      []byte // SHA-256 of the artifact
	Signature   []byte
	TlogEntries []*rekorpb.TransparencyLogEntry
	Timestamps  [][]byte // DER TimeStampResp each
}

// New assembles and validates a bundle.
func New(m MessageSignature) (*sgbundle.Bundle, error) {
	pb, err := m.proto()
	if err != nil {
		return nil, err
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}

// EncodeMessage is the JSON of the bundle New makes from m, without New's validation, which
// parses every log entry through rekor's types (a certificate parse and a signature
// verify for a Rekor v1 entry) only to refuse a malformed one. For a caller that
// verifies these bytes before it uses them (sign's self-check: the fast path on the
// bytes, else New or NewParsed and sigstore-go), that validation is made there.
func EncodeMessage(m MessageSignature) ([]byte, error) {
	pb, err := m.proto()
	if err != nil {
		return nil, err
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: encode: %w", err)
	}
	return data, nil
}

// NewParsed is New keeping the log entries its validation parsed (Parsed), so that a
// verification of the new bundle does not parse them again (a Rekor v1 entry's parse
// verifies the signature in its body). It accepts and refuses what New does, with the
// same errors: validateOnce is the validation ParseWithEntries uses.
func NewParsed(m MessageSignature) (*Parsed, error) {
	pb, err := m.proto()
	if err != nil {
		return nil, err
	}
	if p, ok := validateOnce(pb); ok {
		return p, nil
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return &Parsed{Bundle: b}, nil
}

func (m MessageSignature) proto() (*protobundle.Bundle, error) {
	vm, err := verificationMaterial(m.Certificate, m.KeyHint, m.TlogEntries, m.Timestamps)
	if err != nil {
		return nil, err
	}
	return &protobundle.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: m.Digest},
			Signature:     m.Signature,
		}},
	}, nil
}

// verificationMaterial holds what a verifier needs beside the signed content: the
// certificate or key hint, the log entries and the RFC 3161 timestamps. Message
// signatures and DSSE envelopes share it.
func verificationMaterial(cert []byte, keyHint string, tlog []*rekorpb.TransparencyLogEntry, stamps [][]byte) (*protobundle.VerificationMaterial, error) {
	vm := &protobundle.VerificationMaterial{TlogEntries: tlog}
	switch {
	case cert != nil:
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert}}
	case keyHint != "":
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: keyHint}}
	default:
		return nil, errors.New("bundle: neither a certificate nor a key hint")
	}
	if len(stamps) > 0 {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, t := range stamps {
			vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
				&protocommon.RFC3161SignedTimestamp{SignedTimestamp: t})
		}
	}
	return vm, nil
}

// WriteFile writes b to path atomically and durably (writeAtomic, commit.go): a
// temporary file in the same directory, synced, then renamed over path. On any error
// nothing is left at path or beside it.
func WriteFile(path string, b *sgbundle.Bundle) error {
	data, err := b.MarshalJSON()
	if err != nil {
		return fmt.Errorf("bundle: encode: %w", err)
	}
	return writeAtomic(path, data)
}
