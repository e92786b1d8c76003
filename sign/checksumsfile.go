package sign

import (
	"io"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// MaxChecksumsFile bounds a checksums file: a million 64-digit lines with long names.
const MaxChecksumsFile = 256 << 20

// ChecksumsFileError is a checksums file that opened but is not one cachet signs
// from: too large, not sha256sum's output, or listing nothing.
type ChecksumsFileError struct {
	Path   string
	Detail string // follows the path: " is larger than ...", ": line 3: ...", " lists no artifact"
	Err    error  // the parse error, if that was it
}

func (e *ChecksumsFileError) Error() string { return e.Path + e.Detail }
func (e *ChecksumsFileError) Unwrap() error { return e.Err }

// ReadChecksumsFile opens path, a regular file (regfile.Open; its error as it is),
// and parses it (ParseChecksums) through MaxChecksumsFile; anything else wrong is a
// *ChecksumsFileError.
func ReadChecksumsFile(path string) ([]Checksum, error) {
	fh, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	lr := &io.LimitedReader{R: fh, N: MaxChecksumsFile + 1}
	sums, err := ParseChecksums(lr)
	if err == nil && lr.N == 0 {
		return nil, &ChecksumsFileError{Path: path, Detail: " is larger than " + regfile.Size(MaxChecksumsFile) + ": not a checksums file"}
	}
	if err != nil {
		return nil, &ChecksumsFileError{Path: path, Detail: ": " + err.Error(), Err: err}
	}
	if len(sums) == 0 {
		return nil, &ChecksumsFileError{Path: path, Detail: " lists no artifact"}
	}
	return sums, nil
}
