package tlog

import (
	"encoding/base64"
	"strings"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore/pkg/signature"
)

// v2VerifierJSON is v's canonical JSON (RFC 8785: keys in order, standard base64 that
// needs no escaping), as protojson writes it: the key's algorithm, then the
// certificate or public key. ok is false for a verifier of another form.
func v2VerifierJSON(v *rekortilespb.Verifier) (string, bool) {
	var form, der string
	switch {
	case v.GetX509Certificate() != nil:
		form, der = "x509Certificate", base64.StdEncoding.EncodeToString(v.GetX509Certificate().GetRawBytes())
	case v.GetPublicKey() != nil:
		form, der = "publicKey", base64.StdEncoding.EncodeToString(v.GetPublicKey().GetRawBytes())
	default:
		return "", false
	}
	return `{"keyDetails":"` + v.GetKeyDetails().String() + `","` + form + `":{"rawBytes":"` + der + `"}}`, true
}

// V2Key is a signer's key as hashedrekord v0.0.2 entries name it, made once for the
// entries of a run (one certificate, one key).
type V2Key struct{ json string }

// NewV2Key is v ready for V2Key.Body; ok is false when v is not a key this builds
// entries for (a certificate or a public key whose algorithm pre-hashes with SHA-256).
func NewV2Key(v *rekortilespb.Verifier) (V2Key, bool) {
	vj, ok := v2VerifierJSON(v)
	if !ok {
		return V2Key{}, false
	}
	if ad, err := signature.GetAlgorithmDetails(v.GetKeyDetails()); err != nil || ad.GetProtoHashType() != protocommon.HashAlgorithm_SHA2_256 {
		return V2Key{}, false
	}
	return V2Key{vj}, true
}

// Body is the entry Rekor v2 logs for a signature sig over a SHA-256 digest by k, byte
// for byte: what rekor-tiles' hashedrekord.ToEntryHash hashes (protojson of the Entry,
// then RFC 8785), whose leaf hash sigstore-go rebuilds from a bundle to prove its
// inclusion.
func (k V2Key) Body(digest, sig []byte) []byte { return v2Body(digest, sig, k.json) }

func v2Body(digest, sig []byte, verifierJSON string) []byte {
	enc := base64.StdEncoding
	var b strings.Builder
	b.Grow(120 + enc.EncodedLen(len(digest)) + enc.EncodedLen(len(sig)) + len(verifierJSON))
	b.WriteString(`{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"`)
	b.WriteString(enc.EncodeToString(digest))
	b.WriteString(`"},"signature":{"content":"`)
	b.WriteString(enc.EncodeToString(sig))
	b.WriteString(`","verifier":`)
	b.WriteString(verifierJSON)
	b.WriteString(`}}}}`)
	return []byte(b.String())
}

// v2Request is the CreateEntryRequest for that entry, as protojson reads it.
func v2Request(digest, sig []byte, verifierJSON string) []byte {
	enc := base64.StdEncoding
	var b strings.Builder
	b.Grow(80 + enc.EncodedLen(len(digest)) + enc.EncodedLen(len(sig)) + len(verifierJSON))
	b.WriteString(`{"hashedRekordRequestV002":{"digest":"`)
	b.WriteString(enc.EncodeToString(digest))
	b.WriteString(`","signature":{"content":"`)
	b.WriteString(enc.EncodeToString(sig))
	b.WriteString(`","verifier":`)
	b.WriteString(verifierJSON)
	b.WriteString(`}}}`)
	return []byte(b.String())
}
