package verify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrSubject: an artifact argument that names neither a file nor a digest properly.
var ErrSubject = errors.New("verify: bad artifact argument")

type subjectError struct{ msg string }

func (e *subjectError) Error() string        { return e.msg }
func (e *subjectError) Is(target error) bool { return target == ErrSubject }

func subjectErr(format string, args ...any) error { return &subjectError{fmt.Sprintf(format, args...)} }

// ParseSubject reads "PATH", or "sha256:HEX" / "sha256:HEX=BUNDLE" for an artifact we
// don't have.
func ParseSubject(arg, bundleFlag, bundleDir string) (Subject, error) {
	if rest, ok := strings.CutPrefix(arg, "sha256:"); ok {
		hexDigest, bundle, _ := strings.Cut(rest, "=")
		d, err := hex.DecodeString(hexDigest)
		if err != nil || len(d) != 32 {
			return Subject{}, subjectErr("%q: a digest is sha256: and 64 hex digits", arg)
		}
		switch {
		case bundle != "":
		case bundleFlag != "":
			bundle = bundleFlag
		case bundleDir != "":
			bundle = filepath.Join(bundleDir, hexDigest+".sigstore.json")
		default:
			return Subject{}, subjectErr("%q: no bundle: write sha256:HEX=BUNDLE or name the bundle", arg)
		}
		return Subject{Name: "sha256:" + hexDigest, Digest: d, Bundle: bundle}, nil
	}
	bundle := arg + ".sigstore.json"
	switch {
	case bundleFlag != "":
		bundle = bundleFlag
	case bundleDir != "":
		bundle = filepath.Join(bundleDir, filepath.Base(arg)+".sigstore.json")
	}
	return Subject{Name: arg, Path: arg, Bundle: bundle}, nil
}

// BundleSubject reads verify-bundle's artifact as the conformance protocol defines
// FILE_OR_DIGEST: sha256: and 64 hex digits that do not name a file on disk are a
// digest; anything else is a path. A sha256: argument that is neither is refused with
// both readings, not reported as a missing file.
func BundleSubject(arg, bundle string) (Subject, error) {
	if rest, ok := strings.CutPrefix(arg, "sha256:"); ok {
		if _, err := os.Stat(arg); err != nil {
			if d, err := hex.DecodeString(rest); err != nil || len(d) != 32 {
				return Subject{}, subjectErr("%q is neither a file nor a digest (sha256: and 64 hex digits)", arg)
			}
			return ParseSubject(arg, bundle, "")
		}
	}
	s := Subject{Name: arg, Path: arg, Bundle: arg + ".sigstore.json"}
	if bundle != "" {
		s.Bundle = bundle
	}
	return s, nil
}
