package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// DigestError is a digest argument that is not sha256: and 64 hex digits.
type DigestError struct{ Arg string }

func (e *DigestError) Error() string { return "want sha256: and 64 hex digits" }

// ParseDigests reads digests of subjects not on disk, each sha256:HEX, as the user
// gave them; the first that is not one is a *DigestError.
func ParseDigests(args []string) ([][]byte, error) {
	var out [][]byte
	for _, a := range args {
		h, ok := strings.CutPrefix(a, "sha256:")
		d, err := hex.DecodeString(h)
		if !ok || err != nil || len(d) != sha256.Size {
			return nil, &DigestError{Arg: a}
		}
		out = append(out, d)
	}
	return out, nil
}
