package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
)

// cryptoHashFor picks the hash a key signs with, as cosign and sigstore-go do.
func cryptoHashFor(k crypto.PublicKey) crypto.Hash {
	if ec, ok := k.(*ecdsa.PublicKey); ok {
		switch ec.Curve {
		case elliptic.P384():
			return crypto.SHA384
		case elliptic.P521():
			return crypto.SHA512
		}
	}
	return crypto.SHA256
}
