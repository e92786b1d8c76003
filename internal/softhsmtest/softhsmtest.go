//go:build cgo

// Package softhsmtest makes real SoftHSM2 tokens for tests: a private configuration
// and token directory, a token initialised with softhsm2-util, key pairs generated
// inside the token through crypto11. It needs the softhsm2 package (scripts/setup).
//
// SoftHSM reads SOFTHSM2_CONF when the module is initialised, so New sets it in the
// process environment; tests that use it must not run in parallel with other SoftHSM
// users in the same process.
package softhsmtest

import (
	"crypto/elliptic"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// Module is Debian's SoftHSM2 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is one initialised SoftHSM2 token.
type Token struct {
	Conf, Label, PIN, SOPIN string
	PINFile                 string // holds PIN
	Dir                     string
}

// Kind is a key type to generate.
type Kind string

const (
	P256    Kind = "p256"
	P384    Kind = "p384"
	RSA2048 Kind = "rsa2048"
)

// New writes a SoftHSM2 configuration under dir, sets SOFTHSM2_CONF to it and
// initialises a token labelled label with user PIN pin.
func New(tb testing.TB, dir, label, pin string) *Token {
	tb.Helper()
	t, err := Setup(dir, label, pin)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Setup is New for TestMain and benchmarks' setup, where there is no testing.TB yet.
func Setup(dir, label, pin string) (*Token, error) {
	if _, err := os.Stat(Module); err != nil {
		return nil, fmt.Errorf("softhsmtest: %s missing: run scripts/setup (installs softhsm2)", Module)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if _, err := os.Stat(conf); err != nil {
		body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return nil, err
	}
	t := &Token{Conf: conf, Label: label, PIN: pin, SOPIN: "so-" + pin, Dir: dir, PINFile: filepath.Join(dir, label+".pin")}
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", t.SOPIN, "--pin", pin)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	if err := os.WriteFile(t.PINFile, []byte(pin+"\n"), 0o600); err != nil {
		return nil, err
	}
	return t, nil
}

// URI is the RFC 7512 URI of object in this token, PIN from the PIN file.
func (t *Token) URI(object string) string {
	return fmt.Sprintf("pkcs11:token=%s;object=%s?module-path=%s&pin-source=file:%s", t.Label, object, Module, t.PINFile)
}

func (t *Token) context() (*crypto11.Context, error) {
	return crypto11.Configure(&crypto11.Config{Path: Module, TokenLabel: t.Label, Pin: t.PIN})
}

// Generate makes key pairs inside the token, labelled (CKA_LABEL) and identified
// (CKA_ID) by their names, through crypto11.
func (t *Token) Generate(keys map[string]Kind) error {
	ctx, err := t.context()
	if err != nil {
		return fmt.Errorf("softhsmtest: open token %s: %w", t.Label, err)
	}
	defer ctx.Close()
	for name, kind := range keys {
		id := []byte(name)
		switch kind {
		case P256:
			_, err = ctx.GenerateECDSAKeyPairWithLabel(id, id, elliptic.P256())
		case P384:
			_, err = ctx.GenerateECDSAKeyPairWithLabel(id, id, elliptic.P384())
		case RSA2048:
			_, err = ctx.GenerateRSAKeyPairWithLabel(id, id, 2048)
		default:
			err = fmt.Errorf("unknown kind %q", kind)
		}
		if err != nil {
			return fmt.Errorf("softhsmtest: generate %s: %w", name, err)
		}
	}
	return nil
}

// GenerateMismatched makes a private key labelled name whose public key object (the one
// with the same CKA_ID and CKA_LABEL) belongs to another key pair: what a botched import
// leaves behind.
func (t *Token) GenerateMismatched(name string) error {
	ctx, err := t.context()
	if err != nil {
		return err
	}
	defer ctx.Close()
	attrs := func(id string) crypto11.AttributeSet {
		a, _ := crypto11.NewAttributeSetWithIDAndLabel([]byte(id), []byte(id))
		return a
	}
	// Pair A: its private half is "name", its public half is hidden under another name.
	if _, err := ctx.GenerateECDSAKeyPairWithAttributes(attrs(name+"-a-pub"), attrs(name), elliptic.P256()); err != nil {
		return err
	}
	// Pair B: its public half takes "name".
	if _, err := ctx.GenerateECDSAKeyPairWithAttributes(attrs(name), attrs(name+"-b-priv"), elliptic.P256()); err != nil {
		return err
	}
	return nil
}

// InitWithoutUserPIN initialises a token on the free slot with only a security officer
// PIN, as C_InitToken alone leaves it: SoftHSM then answers every user login with
// CKR_USER_PIN_NOT_INITIALIZED. (SoftHSM2 never locks a PIN after wrong attempts; this
// is the locked-token state it really has.)
func (t *Token) InitWithoutUserPIN(label string) error {
	p := pkcs11.New(Module)
	if p == nil {
		return fmt.Errorf("softhsmtest: load %s", Module)
	}
	if err := p.Initialize(); err != nil {
		return err
	}
	defer p.Destroy()
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil {
		return err
	}
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			return err
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			return p.InitToken(s, t.SOPIN, label)
		}
	}
	return fmt.Errorf("softhsmtest: no free slot")
}
