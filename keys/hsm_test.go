//go:build cgo

package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cachet-sign/cachet/internal/softhsmtest"
)

// token is the SoftHSM2 token every test in this package uses; TestMain makes it.
var token *softhsmtest.Token

const testPIN = "4711-cachet"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cachet-keys-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if token, err = softhsmtest.Setup(dir, "cachet", testPIN); err == nil {
			err = token.InitWithoutUserPIN("nopin")
		}
		if err == nil {
			err = token.Generate(map[string]softhsmtest.Kind{"p256": softhsmtest.P256, "p384": softhsmtest.P384, "rsa2048": softhsmtest.RSA2048})
		}
		if err == nil {
			err = token.GenerateMismatched("mismatch")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "keys: SoftHSM2 setup:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func TestOpenPKCS11(t *testing.T) {
	for _, tc := range []struct {
		object string
		scheme Scheme
		check  func(crypto.PublicKey) bool
	}{
		{"p256", "", func(p crypto.PublicKey) bool { k, ok := p.(*ecdsa.PublicKey); return ok && k.Curve == elliptic.P256() }},
		{"p384", "", func(p crypto.PublicKey) bool { k, ok := p.(*ecdsa.PublicKey); return ok && k.Curve == elliptic.P384() }},
		{"rsa2048", PKCS1v15, func(p crypto.PublicKey) bool { k, ok := p.(*rsa.PublicKey); return ok && k.N.BitLen() == 2048 }},
		{"rsa2048", PSS, func(p crypto.PublicKey) bool { _, ok := p.(*rsa.PublicKey); return ok }},
	} {
		t.Run(tc.object+"/"+string(tc.scheme), func(t *testing.T) {
			var masked []string
			k, err := Open(token.URI(tc.object), Options{Scheme: tc.scheme, Mask: func(s string) { masked = append(masked, s) }})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if !tc.check(k.Signer.Public()) {
				t.Fatalf("public key %T is not a %s key", k.Signer.Public(), tc.object)
			}
			if len(masked) != 1 || masked[0] != testPIN {
				t.Errorf("Mask got %d secrets, want the PIN once", len(masked))
			}
			if id, _ := KeyID(k.Signer.Public()); id != k.ID || len(k.ID) != 44 {
				t.Errorf("ID %q, want base64 SHA-256 of the SPKI %q", k.ID, id)
			}
			if !strings.HasPrefix(k.Name, "pkcs11:token=cachet;object="+tc.object) || strings.Contains(k.Name, "pin") {
				t.Errorf("Name %q", k.Name)
			}
			d := digestOf("artifact")
			sig, err := k.Signer.Sign(rand.Reader, d, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyDigest(k.Signer.Public(), d, sig, k.Signer); err != nil {
				t.Fatal(err)
			}
			if rk, ok := k.Signer.Public().(*rsa.PublicKey); ok {
				// The scheme is really the one asked for, not just self-consistent.
				pkcs1 := rsa.VerifyPKCS1v15(rk, crypto.SHA256, d, sig) == nil
				if pkcs1 != (tc.scheme == PKCS1v15) {
					t.Errorf("scheme %s: PKCS#1 v1.5 verification = %v", tc.scheme, pkcs1)
				}
			}
			pemBytes, err := k.PublicPEM()
			if err != nil || !strings.HasPrefix(string(pemBytes), "-----BEGIN PUBLIC KEY-----") {
				t.Errorf("PublicPEM: %v %q", err, pemBytes)
			}
		})
	}
}

// TestOpenPKCS11Refusals: each way a token can be wrong ends in its own error, says what
// to do, and never shows the PIN.
func TestOpenPKCS11Refusals(t *testing.T) {
	dir := t.TempDir()
	wrongPIN := filepath.Join(dir, "wrong.pin")
	if err := os.WriteFile(wrongPIN, []byte("not-the-pin-9731\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mod := softhsmtest.Module
	for _, tc := range []struct {
		name, ref string
		getenv    func(string) string
		want      error
		says      string
	}{
		{"wrong PIN", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-source=file:%s", mod, wrongPIN), nil, ErrPINIncorrect, "CKR_PIN_INCORRECT"},
		{"missing object", token.URI("no-such-key"), nil, ErrKeyNotFound, "--list-objects"},
		{"missing module", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=/usr/lib/nope/libnope.so&pin-source=file:%s", token.PINFile), nil, ErrModule, "install the module"},
		{"module is not a module", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-source=file:%s", token.PINFile, token.PINFile), nil, ErrModule, ""},
		{"missing token", fmt.Sprintf("pkcs11:token=absent;object=p256?module-path=%s&pin-source=file:%s", mod, token.PINFile), nil, ErrTokenNotFound, "--show-slots"},
		{"user PIN never set", fmt.Sprintf("pkcs11:token=nopin;object=p256?module-path=%s&pin-source=file:%s", mod, token.PINFile), nil, ErrTokenLocked, "CKR_USER_PIN_NOT_INITIALIZED"},
		{"public half of another key", token.URI("mismatch"), nil, ErrKeyMismatch, "re-import"},
		{"PIN file missing", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-source=file:%s", mod, filepath.Join(dir, "absent")), nil, ErrPINSource, "PIN file"},
		{"PIN env unset", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-source=env:HSM_PIN", mod), func(string) string { return "" }, ErrPINSource, "HSM_PIN"},
		{"PIN in the URI", fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-value=%s", mod, testPIN), nil, ErrURI, "pin-value is refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Open(tc.ref, Options{Getenv: tc.getenv})
			if err == nil {
				k.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if strings.Contains(err.Error(), testPIN) || strings.Contains(err.Error(), "not-the-pin-9731") {
				t.Errorf("error shows a PIN: %q", err)
			}
		})
	}
}

func TestOpenPKCS11EnvPIN(t *testing.T) {
	ref := fmt.Sprintf("pkcs11:token=cachet;object=p256?module-path=%s&pin-source=env:HSM_PIN", softhsmtest.Module)
	k, err := Open(ref, Options{Getenv: func(n string) string {
		if n == "HSM_PIN" {
			return testPIN
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
}

// TestConcurrentSign signs from 16 goroutines through one crypto11 context: the session
// pool hands each its own session, and every signature verifies.
func TestConcurrentSign(t *testing.T) {
	for _, obj := range []string{"p256", "rsa2048"} {
		t.Run(obj, func(t *testing.T) {
			k, err := Open(token.URI(obj), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			const workers, each = 16, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						d := digestOf(fmt.Sprintf("%d/%d", w, i))
						sig, err := k.Signer.Sign(rand.Reader, d, crypto.SHA256)
						if err == nil {
							err = VerifyDigest(k.Signer.Public(), d, sig, k.Signer)
						}
						if err != nil {
							errs <- fmt.Errorf("worker %d signature %d: %w", w, i, err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
