package verify

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// TestOnlySignerMatchesPKCS7: for every RFC 3161 token of the test vectors and the
// conformance suite, onlySigner names the signer and certificates pkcs7.Parse and
// GetOnlySigner do, or nothing (and the caller parses).
func TestOnlySignerMatchesPKCS7(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(td, "*.sigstore.json"))
	more, _ := filepath.Glob(filepath.Join(conformance, "*", "bundle.sigstore.json"))
	var named int
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			VerificationMaterial struct {
				TimestampVerificationData struct {
					Rfc3161Timestamps []struct{ SignedTimestamp string }
				}
			}
		}
		if json.Unmarshal(data, &b) != nil {
			continue
		}
		for _, tok := range b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps {
			raw, err := base64.StdEncoding.DecodeString(tok.SignedTimestamp)
			if err != nil {
				continue
			}
			ts, err := timestamp.ParseResponse(raw)
			if err != nil {
				continue
			}
			signer, certs := onlySigner(ts)
			if signer == nil {
				continue
			}
			named++
			p7, err := pkcs7.Parse(ts.RawToken)
			if err != nil {
				t.Fatalf("%s: pkcs7 refuses a token onlySigner read: %v", p, err)
			}
			want := p7.GetOnlySigner()
			if want == nil || !want.Equal(signer) || len(certs) != len(p7.Certificates) {
				t.Fatalf("%s: signer %v, pkcs7 %v", p, signer.Subject, want)
			}
			for i := range certs {
				if !certs[i].Equal(p7.Certificates[i]) {
					t.Fatalf("%s: certificate %d differs", p, i)
				}
			}
		}
	}
	if named < 3 {
		t.Fatalf("onlySigner named the signer of %d tokens; the vectors hold more", named)
	}
}
