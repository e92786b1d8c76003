package tsa

import (
	"crypto"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// TestVerifyLongTermValidity: a token proves a signature existed while its certificate
// was valid exactly when genTime lies inside the certificate's validity.
func TestVerifyLongTermValidity(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	stranger := newTestTSA(t, mustDevChain(t), nil)
	sig := []byte("signature by a short-lived certificate")
	_, der := request(t, sig, crypto.SHA256, randomNonce(t), nil)
	token, err := tt.a.Respond(der, "test")
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := stranger.a.Respond(der, "test")
	now := time.Now()
	cert := func(from, to time.Duration) *x509.Certificate {
		return &x509.Certificate{NotBefore: now.Add(from), NotAfter: now.Add(to)}
	}
	for _, tc := range []struct {
		name    string
		token   []byte
		sig     []byte
		cert    *x509.Certificate
		ok      bool
		outside bool
	}{
		{"inside validity", token, sig, cert(-5*time.Minute, 5*time.Minute), true, false},
		{"certificate since expired: still valid", token, sig, cert(-10*time.Minute, time.Second), true, false},
		{"before NotBefore", token, sig, cert(time.Hour, 2*time.Hour), false, true},
		{"after NotAfter", token, sig, cert(-2*time.Hour, -time.Hour), false, true},
		{"token over another signature", token, []byte("other"), cert(-time.Hour, time.Hour), false, false},
		{"untrusted TSA", foreign, sig, cert(-time.Hour, time.Hour), false, false},
		{"garbage", []byte{0x30, 0x00}, sig, cert(-time.Hour, time.Hour), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyLongTermValidity(tc.token, tc.sig, tc.cert, tt.trusted())
			if ok != tc.ok || (err == nil) != tc.ok {
				t.Fatalf("= %v, %v; want %v", ok, err, tc.ok)
			}
			if errors.Is(err, ErrOutsideValidity) != tc.outside {
				t.Fatalf("err = %v, want ErrOutsideValidity: %v", err, tc.outside)
			}
		})
	}
}
