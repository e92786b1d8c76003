//go:build cgo

package keys

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// openPKCS11 logs into the token and finds the key pair. The returned signer is safe
// for concurrent use: crypto11 keeps a pool of sessions, one per signature in flight.
//
// crypto11 shares one module instance per path within a process and treats
// CKR_USER_ALREADY_LOGGED_IN as success, so a second Open of a token this process is
// already logged into does not check the PIN again. cachet opens one key per run.
func openPKCS11(u *URI, pin string) (crypto.Signer, func() error, error) {
	if _, err := os.Stat(u.ModulePath); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v; install the module (softhsm2: apt-get install softhsm2) or fix module-path", ErrModule, u.ModulePath, errors.Unwrap(err))
	}
	cfg := &crypto11.Config{Path: u.ModulePath, TokenLabel: u.Token, TokenSerial: u.Serial, SlotNumber: u.SlotID, Pin: pin}
	ctx, err := crypto11.Configure(cfg)
	if err != nil {
		return nil, nil, classify(err)
	}
	var label []byte
	if u.Object != "" {
		label = []byte(u.Object)
	}
	s, err := ctx.FindKeyPair(u.ID, label)
	if err != nil || s == nil {
		ctx.Close()
		if err == nil || strings.Contains(err.Error(), "not found") {
			return nil, nil, fmt.Errorf("%w: no private key with a matching public key object; list the token's objects (pkcs11-tool --list-objects) and fix object= or id=", ErrKeyNotFound)
		}
		return nil, nil, classify(err)
	}
	return s, ctx.Close, nil
}

// classify maps PKCS#11 return values to the errors callers branch on.
func classify(err error) error {
	var rv pkcs11.Error
	if errors.As(err, &rv) {
		switch rv {
		case pkcs11.CKR_PIN_INCORRECT:
			return fmt.Errorf("%w: the token refused the PIN (CKR_PIN_INCORRECT); check the pin-source", ErrPINIncorrect)
		case pkcs11.CKR_PIN_LOCKED:
			return fmt.Errorf("%w: the user PIN is locked (CKR_PIN_LOCKED) after too many wrong PINs; the token's security officer must reset it", ErrTokenLocked)
		case pkcs11.CKR_USER_PIN_NOT_INITIALIZED:
			return fmt.Errorf("%w: the token's user PIN was never set (CKR_USER_PIN_NOT_INITIALIZED); the security officer must set it (softhsm2-util --init-token ... --pin, or C_InitPIN)", ErrTokenLocked)
		case pkcs11.CKR_PIN_LEN_RANGE:
			return fmt.Errorf("%w: the PIN has a length the token does not accept (CKR_PIN_LEN_RANGE)", ErrPINIncorrect)
		}
		return fmt.Errorf("pkcs11: %s", rv.Error())
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "could not find PKCS#11 token"):
		return fmt.Errorf("%w: no slot holds this token; list them with softhsm2-util --show-slots or pkcs11-tool -L", ErrTokenNotFound)
	case strings.Contains(msg, "failed to open module"), strings.Contains(msg, "failed to initialize module"), strings.Contains(msg, "failed to create module context"):
		return fmt.Errorf("%w: %s", ErrModule, msg)
	}
	return fmt.Errorf("pkcs11: %s", msg)
}

// pkcs11Supported says whether this build can open PKCS#11 keys.
const pkcs11Supported = true
