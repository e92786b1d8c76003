package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		want    *URI
		wantErr string
	}{
		{uri: "pkcs11:token=release;object=app-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
			want: &URI{Token: "release", Object: "app-key", ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "file:/run/pin"}},
		{uri: "pkcs11:serial=abc;id=%01%02;type=private?module-path=/m.so&pin-source=env:HSM_PIN",
			want: &URI{Serial: "abc", ID: []byte{1, 2}, ModulePath: "/m.so", PINSource: "env:HSM_PIN"}},
		{uri: "pkcs11:token=My%20Token;object=k?module-path=/m.so&pin-source=file:/p",
			want: &URI{Token: "My Token", Object: "k", ModulePath: "/m.so", PINSource: "file:/p"}},
		{uri: "file.pem", wantErr: "does not start with pkcs11:"},
		{uri: "pkcs11:object=k?module-path=/m.so&pin-source=file:/p", wantErr: "exactly one of token="},
		{uri: "pkcs11:token=a;serial=b;object=k?module-path=/m.so&pin-source=file:/p", wantErr: "exactly one of token="},
		{uri: "pkcs11:token=a?module-path=/m.so&pin-source=file:/p", wantErr: "object="},
		{uri: "pkcs11:token=a;object=k?pin-source=file:/p", wantErr: "no module-path"},
		{uri: "pkcs11:token=a;object=k?module-path=/m.so", wantErr: "no pin-source"},
		{uri: "pkcs11:token=a;object=k?module-path=/m.so&pin-value=1234", wantErr: "pin-value is refused"},
		{uri: "pkcs11:token=a;object=k?module-path=/m.so&pin-source=https://x", wantErr: "file:PATH or env:NAME"},
		{uri: "pkcs11:token=a;token=b;object=k?module-path=/m.so&pin-source=file:/p", wantErr: "appears twice"},
		{uri: "pkcs11:token=a;objekt=k?module-path=/m.so&pin-source=file:/p", wantErr: `"objekt" is not supported`},
		{uri: "pkcs11:token=a;object=k;type=public?module-path=/m.so&pin-source=file:/p", wantErr: "type=private"},
		{uri: "pkcs11:token=%zz;object=k?module-path=/m.so&pin-source=file:/p", wantErr: "percent-encoding"},
		{uri: "pkcs11:slot-id=x;object=k?module-path=/m.so&pin-source=file:/p", wantErr: "not a number"},
		{uri: "pkcs11:token=a;object=k?module-name=softhsm2&pin-source=file:/p", wantErr: "module-name is not supported"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			u, err := ParseURI(tc.uri)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrURI) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrURI saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "1234") {
					t.Errorf("error shows the PIN: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Token != tc.want.Token || u.Serial != tc.want.Serial || u.Object != tc.want.Object || string(u.ID) != string(tc.want.ID) ||
				u.ModulePath != tc.want.ModulePath || u.PINSource != tc.want.PINSource {
				t.Errorf("got %+v, want %+v", u, tc.want)
			}
			if strings.Contains(u.String(), "pin") {
				t.Errorf("String %q shows the PIN source", u.String())
			}
		})
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:token=release;object=app-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin")
	f.Add("pkcs11:slot-id=3;id=%01?module-path=/m.so&pin-source=env:P")
	f.Add("pkcs11:;;?&&")
	f.Add("pkcs11:token=%")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrURI) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := ParseURI(u.String() + "?module-path=" + "/m&pin-source=" + u.PINSource); err != nil && !errors.Is(err, ErrURI) {
			t.Fatalf("untyped error on round trip: %v", err)
		}
	})
}

func writePEM(t *testing.T, typ string, der []byte, headers map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: headers}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenFile(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	r2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	r1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	pkcs8 := func(k any) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return b }
	sec1 := func(k *ecdsa.PrivateKey) []byte { b, _ := x509.MarshalECPrivateKey(k); return b }
	for _, tc := range []struct {
		name    string
		path    func(t *testing.T) string
		scheme  Scheme
		wantErr error
	}{
		{"PKCS#8 P-256", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", pkcs8(p256), nil) }, "", nil},
		{"SEC 1 P-384", func(t *testing.T) string { return writePEM(t, "EC PRIVATE KEY", sec1(p384), nil) }, "", nil},
		{"PKCS#1 RSA", func(t *testing.T) string {
			return writePEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(r2048), nil)
		}, "", nil},
		{"PKCS#8 RSA PSS", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", pkcs8(r2048), nil) }, PSS, nil},
		{"P-521", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", pkcs8(p521), nil) }, "", ErrUnsupportedKey},
		{"RSA 1024", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", pkcs8(r1024), nil) }, "", ErrUnsupportedKey},
		{"encrypted", func(t *testing.T) string { return writePEM(t, "ENCRYPTED PRIVATE KEY", []byte{1}, nil) }, "", ErrUnsupportedKey},
		{"legacy encrypted", func(t *testing.T) string {
			return writePEM(t, "RSA PRIVATE KEY", []byte{1}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"})
		}, "", ErrUnsupportedKey},
		{"public key only", func(t *testing.T) string {
			der, _ := x509.MarshalPKIXPublicKey(p256.Public())
			return writePEM(t, "PUBLIC KEY", der, nil)
		}, "", ErrKeyNotFound},
		{"garbage", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", []byte("nope"), nil) }, "", ErrKeyNotFound},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent.pem") }, "", ErrKeyNotFound},
		{"bad scheme", func(t *testing.T) string { return writePEM(t, "PRIVATE KEY", pkcs8(r2048), nil) }, "pss-ish", ErrUnsupportedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Open(tc.path(t), Options{Scheme: tc.scheme})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if IsPSS(k.Signer) != (tc.scheme == PSS) {
				t.Errorf("IsPSS = %v", IsPSS(k.Signer))
			}
			d := make([]byte, 32)
			sig, err := k.Signer.Sign(rand.Reader, d, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyDigest(k.Signer.Public(), d, sig, k.Signer); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	os.WriteFile(pinFile, []byte("s3cret\r\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	env := func(n string) string { return map[string]string{"P": "fromenv"}[n] }
	for _, tc := range []struct {
		source, want string
		getenv       func(string) string
		ok           bool
	}{
		{"file:" + pinFile, "s3cret", nil, true},
		{"file://" + pinFile, "s3cret", nil, true},
		{"file://localhost" + pinFile, "s3cret", nil, true},
		{"file://otherhost" + pinFile, "", nil, false},
		{"file:" + empty, "", nil, false},
		{"env:P", "fromenv", env, true},
		{"env:Q", "", env, false},
		{"env:P", "", nil, false},
		{"pin:1234", "", nil, false},
	} {
		got, err := readPIN(tc.source, tc.getenv)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("readPIN(%q) = %q, %v", tc.source, got, err)
		}
		if err != nil && (!errors.Is(err, ErrPINSource) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "fromenv")) {
			t.Errorf("readPIN(%q) error %v: untyped or shows the PIN", tc.source, err)
		}
	}
}

// TestNoPKCS11 runs in both builds: with cgo a URI reaches the module; without it the
// error says so before any PIN is read.
func TestNoPKCS11(t *testing.T) {
	_, err := Open("pkcs11:token=a;object=b?module-path=/nonexistent/module.so&pin-source=env:UNSET", Options{})
	if pkcs11Supported {
		if !errors.Is(err, ErrPINSource) {
			t.Fatalf("cgo build: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrNoPKCS11) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("!cgo build: %v", err)
	}
}

// TestReadPINRefusesEndlessAndSpecialFiles: pin-source=file:/dev/zero once grew until
// the process ran out of memory, and a FIFO blocked forever.
func TestReadPINRefusesEndlessAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	// A marker no temporary path holds: the error names the path, whose random digits
	// can hold any short run of one digit.
	os.WriteFile(big, bytes.Repeat([]byte("pin-content;"), 342), 0o600) // 4104 bytes
	for _, src := range []string{"file:/dev/zero", "file:" + fifo, "file:" + big} {
		done := make(chan error, 1)
		go func() { _, err := readPIN(src, nil); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrPINSource) || strings.Contains(err.Error(), "pin-content") {
				t.Errorf("readPIN(%s) = %v, want an ErrPINSource that does not show the content", src, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("readPIN(%s) still reading after 5 s", src)
		}
	}
}
