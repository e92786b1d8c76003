//go:build !cgo

package keys

import "crypto"

// openPKCS11 needs cgo (crypto11 loads the module with dlopen).
func openPKCS11(*URI, string) (crypto.Signer, func() error, error) {
	return nil, nil, ErrNoPKCS11
}

// pkcs11Supported says whether this build can open PKCS#11 keys.
const pkcs11Supported = false
