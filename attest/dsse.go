package attest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	dsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
)

// PAE is DSSE v1's pre-authentication encoding, the bytes a DSSE signature covers:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimal
// (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md).
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Sign signs payload as a DSSE envelope with one signature: the signer signs the SHA-256
// of the PAE (ECDSA and RSA keys; what Rekor's dsse type, sigstore-go and cosign check).
func Sign(signer crypto.Signer, payloadType string, payload []byte) (*dsse.Envelope, error) {
	if signer == nil {
		return nil, errors.New("dsse: no signer")
	}
	h := sha256.Sum256(PAE(payloadType, payload))
	sig, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("dsse: sign: %w", err)
	}
	return &dsse.Envelope{Payload: payload, PayloadType: payloadType, Signatures: []*dsse.Signature{{Sig: sig}}}, nil
}
