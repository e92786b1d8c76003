package sign

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseDigests(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		args []string
		n    int
		bad  string // the argument a *DigestError names
	}{
		{args: nil},
		{args: []string{"sha256:" + hex, "sha256:" + strings.ToUpper(hex)}, n: 2},
		{args: []string{"sha256:" + hex, hex}, bad: hex},
		{args: []string{"sha256:" + hex[:62]}, bad: "sha256:" + hex[:62]},
		{args: []string{"sha256:" + hex[:63] + "g"}, bad: "sha256:" + hex[:63] + "g"},
		{args: []string{"sha512:" + hex}, bad: "sha512:" + hex},
	} {
		got, err := ParseDigests(tc.args)
		var de *DigestError
		switch {
		case tc.bad != "":
			if !errors.As(err, &de) || de.Arg != tc.bad || err.Error() != "want sha256: and 64 hex digits" {
				t.Errorf("ParseDigests(%q): err %v, want a *DigestError for %q", tc.args, err, tc.bad)
			}
		case err != nil || len(got) != tc.n:
			t.Errorf("ParseDigests(%q) = %d digests, %v; want %d", tc.args, len(got), err, tc.n)
		}
		for _, d := range got {
			if !bytes.Equal(d, bytes.Repeat([]byte{0xab}, 32)) {
				t.Errorf("digest %x", d)
			}
		}
	}
}
