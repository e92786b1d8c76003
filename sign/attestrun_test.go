package sign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachet-sign/cachet/attest"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

func TestAttestStatement(t *testing.T) {
	p, _ := keyPipeline(t)
	p.Verify = func(b *sgbundle.Bundle, _ []byte) error {
		if b.GetDsseEnvelope() == nil {
			return errors.New("not a DSSE bundle")
		}
		return nil
	}
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	one := []attest.Subject{{Name: "a.tar.gz", Digest: a[:]}}
	two := append(append([]attest.Subject{}, one...), attest.Subject{Name: "b.zip", Digest: b[:]})
	pred := []byte(`{"spdxVersion":"SPDX-2.3"}`)
	for _, tc := range []struct {
		name      string
		s         Statement
		authorize func([]byte) error
		wantName  string
		refused   bool
		fails     bool
	}{
		{name: "one subject", s: Statement{Subjects: one, PredicateType: attest.SPDX, Predicate: pred}, wantName: "a.tar.gz"},
		{name: "two subjects", s: Statement{Subjects: two, PredicateType: attest.SPDX, Predicate: pred}, wantName: "2 subjects"},
		{name: "no subject", s: Statement{PredicateType: attest.SPDX, Predicate: pred}, fails: true},
		{name: "a predicate that is not an object", s: Statement{Subjects: one, PredicateType: attest.SPDX, Predicate: []byte(`[1]`)}, fails: true},
		{name: "refused", s: Statement{Subjects: one, PredicateType: attest.SPDX, Predicate: pred},
			authorize: func([]byte) error { return errors.New("policy says no") }, fails: true, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Bundle = filepath.Join(t.TempDir(), "x.intoto.sigstore.json")
			p.Authorize = tc.authorize
			r, err := p.AttestStatement(t.Context(), tc.s)
			_, statErr := os.Stat(tc.s.Bundle)
			if tc.fails {
				if err == nil || statErr == nil || errors.Is(err, ErrRefused) != tc.refused {
					t.Fatalf("err %v (refusal: want %v), bundle written: %v", err, tc.refused, statErr == nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			written, _ := os.ReadFile(tc.s.Bundle)
			sum := sha256.Sum256(r.Bundle)
			if r.Name != tc.wantName || r.Referrer || r.Digest != "sha256:"+hex.EncodeToString(sum[:]) || !bytes.Equal(written, r.Bundle) {
				t.Fatalf("attested %+v; bundle written %d bytes", r, len(written))
			}
		})
	}
}
