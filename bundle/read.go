package bundle

import (
	"errors"
	"fmt"

	"github.com/cachet-sign/cachet/internal/inputerr"
	"github.com/cachet-sign/cachet/internal/regfile"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"golang.org/x/mod/semver"
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

// Parsed is a bundle with its transparency-log entries parsed by its validation.
type Parsed struct {
	*sgbundle.Bundle
	// Entries is what Bundle.TlogEntries returns, when HaveEntries; a verification
	// can use them instead of parsing each entry again (sigstore-go's parse checks the
	// Rekor v1 body's signature, so a second parse costs a second ECDSA verification).
	Entries     []*tlog.Entry
	HaveEntries bool
}

// ParseWithEntries is Parse returning the parsed transparency-log entries too: it accepts
// and refuses exactly what Parse does, with the same errors.
func ParseWithEntries(data []byte) (*Parsed, error) {
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(data, pb); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, inputerr.Describe(err))
	}
	if p, ok := validateOnce(pb); ok {
		return p, nil
	}
	// Refused, or a shape validateOnce does not take: sigstore-go's own validation
	// decides, and gives the error Parse gives.
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeValidationError(err))
	}
	return &Parsed{Bundle: b}, nil
}

// validateOnce is sigstore-go's NewBundle validation (pkg/bundle/bundle.go, validate)
// keeping the log entries it parses: NewBundle validates a copy without the entries
// (media type and version, content, verification material, no certificate chain in
// v0.3, nothing from v0.4), then the entries are parsed on the bundle itself, as
// validate does, and held to validate's one rule about them: an inclusion promise in a
// v0.1 bundle, an inclusion proof from v0.2. ok is false when any step refuses; the
// caller then runs NewBundle for the exact error.
func validateOnce(pb *protobundle.Bundle) (*Parsed, bool) {
	vm := pb.GetVerificationMaterial()
	if vm == nil {
		return nil, false
	}
	stripped := &protobundle.Bundle{MediaType: pb.MediaType, Content: pb.Content,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: vm.Content, TimestampVerificationData: vm.TimestampVerificationData}}
	if _, err := sgbundle.NewBundle(stripped); err != nil {
		return nil, false
	}
	// The bundle NewBundle(pb) would return: its unexported fields start false and
	// TlogEntries sets the two it has from the entries.
	b := &sgbundle.Bundle{Bundle: pb}
	entries, err := b.TlogEntries()
	if err != nil {
		return nil, false
	}
	version, err := b.Version()
	if err != nil {
		return nil, false
	}
	if len(entries) > 0 {
		if semver.Compare(version, "v0.1") == 0 {
			if !b.HasInclusionPromise() {
				return nil, false
			}
		} else if !b.HasInclusionProof() {
			return nil, false
		}
	}
	return &Parsed{Bundle: b, Entries: entries, HaveEntries: true}, true
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
