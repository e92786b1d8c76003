package tlog

import (
	"encoding/base64"
	"encoding/hex"
)

// HashedRekordBody is the hashedrekord v0.0.1 entry for a signature sig over a SHA-256
// digest by the key in pem (a certificate or public key, PEM), as
// rekor's hashedrekord v0.0.1 Canonicalize writes it: the body Rekor v1 stores, which a
// verifier rebuilds to compare with an entry's body, and what Add proposes (the
// models.Hashedrekord json.Marshal would write, with the kind second: Rekor's API
// finds the discriminator wherever it is). Built directly, with one allocation,
// rather than through go-openapi's reflection (TestHashedRekordBodyMatchesRekor).
func HashedRekordBody(digest, sig, pem []byte) []byte {
	const (
		head   = `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"`
		mid    = `"}},"signature":{"content":"`
		keyTag = `","publicKey":{"content":"`
		tail   = `"}}}}`
	)
	enc := base64.StdEncoding
	b := make([]byte, 0, len(head)+hex.EncodedLen(len(digest))+len(mid)+enc.EncodedLen(len(sig))+len(keyTag)+enc.EncodedLen(len(pem))+len(tail))
	b = append(b, head...)
	b = hex.AppendEncode(b, digest)
	b = append(b, mid...)
	b = enc.AppendEncode(b, sig)
	b = append(b, keyTag...)
	b = enc.AppendEncode(b, pem)
	return append(b, tail...)
}
