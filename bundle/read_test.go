package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// fakeToken is what a bundle path pointing at a token file would hold.
const fakeToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.SECRETsig"

func TestParseNeverQuotesInput(t *testing.T) {
	for name, data := range map[string]string{
		"token":              fakeToken,
		"token in a string":  `"` + fakeToken + `"`,
		"token as a field":   `{"` + fakeToken + `": 1}`,
		"token as a value":   `{"mediaType": "` + fakeToken + `"}`,
		"token as a number":  `{"mediaType": 1, "x": "` + fakeToken + `"}`,
		"token after valid":  `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"} ` + fakeToken,
		"token in base64":    `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"certificate": {"rawBytes": "` + fakeToken + `"}}}`,
		"token as hint":      `{"mediaType": "` + MediaType + `", "verificationMaterial": {"publicKey": {"hint": "` + fakeToken + `"}}}`,
		"truncated":          `{"mediaType": "eyJhbGciOi`,
		"wrong version name": `{"mediaType": "application/vnd.dev.sigstore.bundle.vSECRET+json"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(data))
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
			for _, bad := range []string{"eyJ", "SECRET", "sig\""} {
				if strings.Contains(err.Error(), bad) {
					t.Fatalf("error quotes the input (%q): %v", bad, err)
				}
			}
		})
	}
}

func TestParseSaysWhere(t *testing.T) {
	_, err := Parse([]byte("{\n  \"mediaType\": x}"))
	if err == nil || !strings.Contains(err.Error(), "invalid JSON at line 2") {
		t.Fatalf("err = %v, want invalid JSON at line 2", err)
	}
	_, err = Parse([]byte(`{"mediaType": "` + MediaType + `", "nope": 1}`))
	if err == nil || !strings.Contains(err.Error(), "a field it does not have at line 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadRefusesWhatIsNotABundleFile(t *testing.T) {
	td := t.TempDir()
	tok := filepath.Join(td, "token")
	os.WriteFile(tok, []byte(fakeToken), 0o600)
	link := filepath.Join(td, "a.sigstore.json")
	os.Symlink(tok, link)
	_, err := Read(link)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "eyJ") || !strings.Contains(err.Error(), link) {
		t.Fatalf("Read(symlink to token) = %v", err)
	}
	if _, err := Read("/dev/zero"); !errors.Is(err, regfile.ErrNotRegular) {
		t.Fatalf("Read(/dev/zero) = %v, want ErrNotRegular", err)
	}
	big := filepath.Join(td, "big.sigstore.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxSize+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big); !errors.Is(err, regfile.ErrTooLarge) {
		t.Fatalf("Read(big) = %v, want ErrTooLarge", err)
	}
}
