package verify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachet-sign/cachet/internal/regfile"
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

// NotRegularError is an artifact that exists but is not a regular file: a FIFO would
// block a verification, a device never ends.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("artifact %s is %s: only regular files are artifacts", e.Path, regfile.Kind(e.Mode))
}

// SplitArgs sorts a command line's artifact arguments: digests (sha256:HEX or
// sha256:HEX=BUNDLE, subjects not on disk) and paths (files or globs), each in order.
func SplitArgs(args []string) (paths, digests []string) {
	for _, x := range args {
		if strings.HasPrefix(x, "sha256:") {
			digests = append(digests, x)
		} else {
			paths = append(paths, x)
		}
	}
	return paths, digests
}

// Subjects are the subjects of paths (artifacts on disk, globs already expanded) and
// digests (sha256:HEX or sha256:HEX=BUNDLE), each with its bundle beside it or in
// bundleDir (ParseSubject). A path that exists must be a regular file (else a
// *NotRegularError); a missing one is left for Verify to report with the results.
func Subjects(paths, digests []string, bundleDir string) ([]Subject, error) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			return nil, &NotRegularError{Path: p, Mode: st.Mode()}
		}
	}
	var subjects []Subject
	for _, x := range append(append([]string{}, paths...), digests...) {
		s, err := ParseSubject(x, "", bundleDir)
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, s)
	}
	return subjects, nil
}
