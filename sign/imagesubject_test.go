package sign

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cachet-sign/cachet/internal/ocitest"
	"github.com/cachet-sign/cachet/oci"
	"github.com/google/go-containerregistry/pkg/authn"
)

// TestImageSubject: an attestation pushed to a registry is over the one image its
// name (and digest) resolve to; files, several digests and no name are refused before
// the registry is asked.
func TestImageSubject(t *testing.T) {
	host := ocitest.Registry(t, false)
	img := ocitest.Push(t, host+"/o/app:v1")
	h, _ := img.Digest()
	want, _ := hex.DecodeString(h.Hex)
	reg := &oci.Client{Keychain: authn.NewMultiKeychain()}
	one := [][]byte{want}
	for _, tc := range []struct {
		name   string
		pl     AttestPlan
		digest string
		err    error
	}{
		{name: "by tag", pl: AttestPlan{Name: host + "/o/app:v1"}},
		{name: "by repository and digest", pl: AttestPlan{Name: host + "/o/app", Digests: one}, digest: h.String()},
		{name: "a file too", pl: AttestPlan{Name: host + "/o/app:v1", Paths: []string{"f"}}, err: ErrOneImage},
		{name: "two digests", pl: AttestPlan{Name: host + "/o/app", Digests: [][]byte{want, want}}, digest: h.String(), err: ErrOneImage},
		{name: "no name", pl: AttestPlan{Digests: one}, digest: h.String(), err: ErrNoImage},
		{name: "a tag with a digest", pl: AttestPlan{Name: host + "/o/app:v1", Digests: one}, digest: h.String(), err: oci.ErrNotRepository},
		{name: "not in the registry", pl: AttestPlan{Name: host + "/o/app:missing"}, err: oci.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, subjects, err := tc.pl.ImageSubject(t.Context(), reg, tc.digest)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest.DigestStr() != h.String() || len(subjects) != 1 || subjects[0].Name != host+"/o/app" || !bytes.Equal(subjects[0].Digest, want) {
				t.Errorf("= %v, %+v; want %s with one subject %s/o/app", got.Digest, subjects, h, host)
			}
		})
	}
}
