package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// Errors callers branch on. Every error Open returns wraps one of them.
var (
	// ErrPINSource means the PIN could not be read from its source.
	ErrPINSource = errors.New("PIN source")
	// ErrPINIncorrect means the token refused the PIN (CKR_PIN_INCORRECT).
	ErrPINIncorrect = errors.New("PIN incorrect")
	// ErrTokenLocked means the token refuses user logins: the PIN is locked
	// (CKR_PIN_LOCKED, too many wrong PINs) or was never set (CKR_USER_PIN_NOT_INITIALIZED).
	ErrTokenLocked = errors.New("token locked")
	// ErrModule means the PKCS#11 module could not be loaded.
	ErrModule = errors.New("PKCS#11 module")
	// ErrTokenNotFound means no slot holds the named token.
	ErrTokenNotFound = errors.New("token not found")
	// ErrKeyNotFound means the token has no such key pair, or the key file no key.
	ErrKeyNotFound = errors.New("key not found")
	// ErrKeyMismatch means the public half does not verify the private half's signature.
	ErrKeyMismatch = errors.New("public key does not match private key")
	// ErrUnsupportedKey means a key type or size cachet does not sign with.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrNoPKCS11 means this binary was built without cgo, hence without PKCS#11.
	ErrNoPKCS11 = errors.New("this cachet was built without PKCS#11 support (CGO_ENABLED=0); use the release binary on the runner or a PEM key")
)

// Scheme is the RSA signature scheme; ECDSA keys ignore it.
type Scheme string

const (
	PKCS1v15 Scheme = "pkcs1v15" // RSASSA-PKCS1-v1_5, what cosign verify-blob --key expects of RSA keys
	PSS      Scheme = "pss"      // RSASSA-PSS, salt length = hash length
)

// Options are what Open needs from outside. The zero value reads nothing from the
// process: an env: PIN source needs Getenv.
type Options struct {
	// Getenv resolves pin-source=env:NAME; nil refuses env: sources.
	Getenv func(string) string
	// Mask is called with the PIN before it is used, so a runner can hide it from logs
	// (::add-mask:: in Actions). May be nil.
	Mask func(secret string)
	// Scheme is the RSA scheme; PKCS1v15 when empty.
	Scheme Scheme
}

// Key is an open signing key. Close it when done; a PKCS#11 key holds a session pool.
type Key struct {
	// Signer signs SHA-256 digests (crypto.SHA256); for RSA with the chosen Scheme.
	Signer crypto.Signer
	// ID is the key id: standard base64 of the SHA-256 of the DER SubjectPublicKeyInfo,
	// which is what cosign writes as publicKey.hint in key-mode bundles.
	ID string
	// Name says where the key is (a file path, or the URI without its PIN source).
	Name  string
	close func() error
}

// Close releases the key.
func (k *Key) Close() error {
	if k == nil || k.close == nil {
		return nil
	}
	return k.close()
}

// PublicPEM is the public key as PEM ("PUBLIC KEY", PKIX).
func (k *Key) PublicPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Open opens the key ref names: a PKCS#11 URI (pkcs11:...) or a PEM private key file.
func Open(ref string, o Options) (*Key, error) {
	var (
		s     crypto.Signer
		name  string
		close func() error
		err   error
	)
	if IsURI(ref) {
		u, perr := ParseURI(ref)
		if perr != nil {
			return nil, perr
		}
		name = u.String()
		if !pkcs11Supported {
			return nil, fmt.Errorf("%s: %w", name, ErrNoPKCS11)
		}
		pin, perr := readPIN(u.PINSource, o.Getenv)
		if perr != nil {
			return nil, fmt.Errorf("%s: %w", name, perr)
		}
		if o.Mask != nil {
			o.Mask(pin)
		}
		s, close, err = openPKCS11(u, pin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		name = ref
		if s, err = openFile(ref); err != nil {
			return nil, fmt.Errorf("key file %s: %w", ref, err)
		}
		close = func() error { return nil }
	}
	k, err := newKey(s, name, o.Scheme)
	if err != nil {
		close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	k.close = close
	return k, nil
}

func newKey(s crypto.Signer, name string, scheme Scheme) (*Key, error) {
	if err := checkType(s.Public()); err != nil {
		return nil, err
	}
	switch scheme {
	case "", PKCS1v15:
	case PSS:
		if _, ok := s.Public().(*rsa.PublicKey); ok {
			s = pssSigner{s}
		}
	default:
		return nil, fmt.Errorf("%w: RSA scheme %q (want pkcs1v15 or pss)", ErrUnsupportedKey, scheme)
	}
	if err := selfTest(s); err != nil {
		return nil, err
	}
	id, err := KeyID(s.Public())
	if err != nil {
		return nil, err
	}
	return &Key{Signer: s, ID: id, Name: name}, nil
}

// KeyID is the standard base64 of the SHA-256 of pub's DER SubjectPublicKeyInfo, as
// cosign's key-mode bundles carry it in verificationMaterial.publicKey.hint.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

func checkType(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return fmt.Errorf("%w: ECDSA curve %s (want P-256 or P-384)", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key of %d bits (want 2048 or more)", ErrUnsupportedKey, k.N.BitLen())
		}
	default:
		return fmt.Errorf("%w: %T (want ECDSA P-256/P-384 or RSA)", ErrUnsupportedKey, pub)
	}
	return nil
}

// selfTest signs a random digest and verifies it with the public half: a token whose
// public key object belongs to another private key would otherwise produce bundles
// nobody can verify, or, worse, that verify against the wrong key.
func selfTest(s crypto.Signer) error {
	digest := make([]byte, sha256.Size)
	if _, err := io.ReadFull(rand.Reader, digest); err != nil {
		return err
	}
	sig, err := s.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("test signature: %w", err)
	}
	if err := VerifyDigest(s.Public(), digest, sig, s); err != nil {
		return fmt.Errorf("%w: a test signature does not verify with the public key object; re-import the key pair", ErrKeyMismatch)
	}
	return nil
}

// VerifyDigest verifies sig over a SHA-256 digest with pub; s says which RSA scheme
// (a signer from Open, or nil for PKCS#1 v1.5).
func VerifyDigest(pub crypto.PublicKey, digest, sig []byte, s crypto.Signer) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ecdsa: invalid signature")
		}
		return nil
	case *rsa.PublicKey:
		if _, pss := s.(pssSigner); pss {
			return rsa.VerifyPSS(k, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig)
	}
	return fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// IsPSS reports whether s signs RSASSA-PSS.
func IsPSS(s crypto.Signer) bool {
	_, ok := s.(pssSigner)
	return ok
}

// pssSigner turns the pipeline's crypto.SHA256 into PSS options, salt = hash length
// (the only salt length crypto11 can ask a token for, and what Sigstore's PSS uses).
type pssSigner struct{ crypto.Signer }

func (p pssSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return p.Signer.Sign(r, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: opts.HashFunc()})
}

// openFile reads an unencrypted PEM private key: PKCS#8, SEC 1 or PKCS#1. Development
// only: on a runner the key belongs in an HSM.
func openFile(path string) (crypto.Signer, error) {
	data, err := regfile.ReadFile(path, maxKeyFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: no such file", ErrKeyNotFound)
		}
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no PEM private key in the file", ErrKeyNotFound)
		}
		var k any
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			if _, enc := b.Headers["DEK-Info"]; enc {
				return nil, fmt.Errorf("%w: encrypted PEM keys are not supported; decrypt it (development keys only) or use a PKCS#11 token", ErrUnsupportedKey)
			}
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			if strings.Contains(b.Type, "ENCRYPTED") {
				return nil, fmt.Errorf("%w: %s is encrypted; decrypt it (development keys only) or use a PKCS#11 token", ErrUnsupportedKey, b.Type)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKeyNotFound, b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
		}
		return s, nil
	}
}

// maxPINFile bounds a PIN file: PKCS#11 PINs are at most a few dozen bytes.
const maxPINFile = 4 << 10

// maxKeyFile bounds a PEM private key file (an RSA 8192 key is about 6 KiB).
const maxKeyFile = 1 << 20

// readPIN resolves a pin-source. The PIN never appears in an error.
func readPIN(source string, getenv func(string) string) (string, error) {
	switch {
	case strings.HasPrefix(source, "file:"):
		path := strings.TrimPrefix(source, "file:")
		// RFC 8089 file URIs: file:///p and file://localhost/p name /p.
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			host, p, _ := strings.Cut(rest, "/")
			if host != "" && host != "localhost" {
				return "", fmt.Errorf("%w: pin-source %s names another host", ErrPINSource, source)
			}
			path = "/" + p
		}
		// Bounded and regular files only: pin-source=file:/dev/zero must fail, not
		// grow until the process is killed.
		b, err := regfile.ReadFile(path, maxPINFile)
		if err != nil {
			return "", fmt.Errorf("%w: read the PIN file %s: %v", ErrPINSource, path, errors.Unwrap(err))
		}
		pin := strings.TrimRight(string(b), "\r\n")
		if pin == "" {
			return "", fmt.Errorf("%w: the PIN file %s is empty", ErrPINSource, path)
		}
		return pin, nil
	case strings.HasPrefix(source, "env:"):
		name := strings.TrimPrefix(source, "env:")
		if name == "" || getenv == nil {
			return "", fmt.Errorf("%w: pin-source %s: no environment to read", ErrPINSource, source)
		}
		pin := getenv(name)
		if pin == "" {
			return "", fmt.Errorf("%w: environment variable %s is empty or unset; pass the PIN as a secret in it", ErrPINSource, name)
		}
		return pin, nil
	}
	return "", fmt.Errorf("%w: pin-source must be file:PATH or env:NAME", ErrPINSource)
}
