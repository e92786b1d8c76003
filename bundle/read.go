package bundle

import (
	"errors"
	"fmt"

	"github.com/cachet-sign/cachet/internal/inputerr"
	"github.com/cachet-sign/cachet/internal/regfile"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// MaxSize bounds a bundle file. Bundles are a few KiB; an attestation with a large
// predicate is more, but nowhere near this.
const MaxSize = 16 << 20

// ErrInvalid is bytes that are not a valid Sigstore bundle.
var ErrInvalid = errors.New("not a valid Sigstore bundle")

// Read reads and validates the bundle file at path: a regular file of at most MaxSize
// bytes (a FIFO, a device or an endless file is refused, not read).
func Read(path string) (*sgbundle.Bundle, error) {
	data, err := regfile.ReadFile(path, MaxSize)
	if err != nil {
		return nil, err
	}
	b, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Parse decodes and validates bundle JSON. Its errors never quote the input: protojson
// and encoding/json put the offending bytes in their messages, and a bundle path that is
// really a token or key file would put that secret in a log, an annotation or a report.
// The error says where the problem is (line and column) and what kind it is.
func Parse(data []byte) (*sgbundle.Bundle, error) {
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(data, pb); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, inputerr.Describe(err))
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeValidationError(err))
	}
	return b, nil
}

// describeValidationError keeps only sigstore-go's fixed sentinel texts: its wrapped
// messages may carry the media type or other bundle content.
func describeValidationError(err error) string {
	for _, s := range []error{sgbundle.ErrUnsupportedMediaType, sgbundle.ErrEmptyBundle, sgbundle.ErrMissingVerificationMaterial,
		sgbundle.ErrMissingBundleContent, sgbundle.ErrInvalidAttestation} {
		if errors.Is(err, s) {
			if s == sgbundle.ErrUnsupportedMediaType {
				return s.Error() + " (want " + MediaType + ", or v0.1 or v0.2)"
			}
			return s.Error()
		}
	}
	return "its content fails validation (certificate, key or signature material)"
}
