//go:build cgo

package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// Signatures per second through PKCS#11 (SoftHSM2, one crypto11 context) against the
// same key types from PEM files, serial and from GOMAXPROCS goroutines:
//
//	go test -run '^$' -bench Sign -benchtime 2s ./keys
func benchSign(b *testing.B, ref string, o Options) {
	k, err := Open(ref, o)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	d := digestOf("bench")
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Signer.Sign(rand.Reader, d, crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := k.Signer.Sign(rand.Reader, d, crypto.SHA256); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
	})
}

func fileKey(b *testing.B, k any) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSignPKCS11_P256(b *testing.B)    { benchSign(b, token.URI("p256"), Options{}) }
func BenchmarkSignPKCS11_P384(b *testing.B)    { benchSign(b, token.URI("p384"), Options{}) }
func BenchmarkSignPKCS11_RSA2048(b *testing.B) { benchSign(b, token.URI("rsa2048"), Options{}) }
func BenchmarkSignPKCS11_RSA2048PSS(b *testing.B) {
	benchSign(b, token.URI("rsa2048"), Options{Scheme: PSS})
}

func BenchmarkSignFile_P256(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	benchSign(b, fileKey(b, k), Options{})
}

func BenchmarkSignFile_P384(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	benchSign(b, fileKey(b, k), Options{})
}

func BenchmarkSignFile_RSA2048(b *testing.B) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	benchSign(b, fileKey(b, k), Options{})
}

func BenchmarkSignFile_RSA2048PSS(b *testing.B) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	benchSign(b, fileKey(b, k), Options{Scheme: PSS})
}
