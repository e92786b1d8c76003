// Package keys opens the signing keys of cachet's key mode: a key in a PKCS#11 token
// named by an RFC 7512 URI (through crypto11, cgo builds only), or a PEM private key
// file for development. Both come out as a crypto.Signer with the key id Sigstore
// bundles carry as publicKey.hint.
//
// It refuses: a PIN anywhere but a file or an environment variable (no pin-value, no
// flag), keys other than ECDSA P-256/P-384 and RSA of 2048 bits or more, and a key whose
// public half does not verify a test signature of its private half. No error it returns
// contains a PIN.
package keys
