package sign

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cachet-sign/cachet/internal/names"
	"github.com/cachet-sign/cachet/internal/regfile"
)

// BundleSuffix names a bundle: ARTIFACT.sigstore.json.
const BundleSuffix = ".sigstore.json"

// ErrPlan marks a plan that cannot be carried out (a bad name, a missing file, two
// subjects writing one bundle): nothing has been signed. Callers add their own hints.
var ErrPlan = errors.New("sign: bad plan")

// PlanError is an ErrPlan: What names the input at fault in the plan's words
// ("artifact", "bundle path", "output directory", "checksums entry", "checksums", or
// "" for the plan as a whole), Detail the rest of the message, from its separator on.
// Callers may say What in their own words (a flag name).
type PlanError struct{ What, Detail string }

func (e *PlanError) Error() string        { return e.What + e.Detail }
func (e *PlanError) Is(target error) bool { return target == ErrPlan }

// ErrNothingToSign is the PlanError of a plan naming no subject at all.
var ErrNothingToSign error = &PlanError{Detail: "nothing to sign"}

func planErr(what, format string, args ...any) error {
	return &PlanError{What: what, Detail: fmt.Sprintf(format, args...)}
}

// Plan is what one run signs and where each bundle goes.
type Plan struct {
	// Paths are artifacts on disk (regular files; ExpandDirs expands directories).
	Paths []string
	// Checksums are artifacts signed by digest, from the sha256sum file at
	// ChecksumsPath, whose directory receives their bundles unless OutputDir is set.
	Checksums     []Checksum
	ChecksumsPath string
	// Digests are artifacts signed by digest alone, each named by its hex digest; their
	// bundles (HEX.sigstore.json) go to OutputDir, else the working directory.
	Digests [][]byte
	// Bundle is the one bundle path when exactly one artifact is signed.
	Bundle string
	// OutputDir receives every bundle (NAME.sigstore.json) when set.
	OutputDir string
}

// Len is the number of subjects the plan names.
func (pl Plan) Len() int { return len(pl.Paths) + len(pl.Checksums) + len(pl.Digests) }

// Subjects checks the plan and returns its subjects, each with its bundle path: beside
// the artifact by default, in OutputDir when set, or Bundle for a single artifact. Every
// path must be a regular file, no name may hold a control character, and no two
// subjects may write the same bundle.
func (pl Plan) Subjects() ([]Subject, error) {
	if pl.Len() == 0 {
		return nil, ErrNothingToSign
	}
	if pl.Bundle != "" && pl.Len() != 1 {
		return nil, planErr("bundle path", " names one bundle, but %d artifacts were given", pl.Len())
	}
	if pl.OutputDir != "" {
		if st, err := os.Stat(pl.OutputDir); err != nil || !st.IsDir() {
			return nil, planErr("output directory", " %s is not a directory", pl.OutputDir)
		}
	}
	for what, v := range map[string]string{"bundle path": pl.Bundle, "output directory": pl.OutputDir} {
		if err := checkName(what, v); err != nil {
			return nil, err
		}
	}
	taken := map[string]string{}
	claim := func(b, name string) error {
		if other, dup := taken[b]; dup {
			return planErr("", "artifacts %s and %s would both write %s", other, name, b)
		}
		taken[b] = name
		return nil
	}
	var out []Subject
	for _, p := range pl.Paths {
		if err := checkName("artifact", p); err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, planErr("artifact", " %s: %v", p, errors.Unwrap(err))
		}
		if !st.Mode().IsRegular() {
			return nil, planErr("artifact", " %s is %s: only regular files are artifacts", p, regfile.Kind(st.Mode()))
		}
		b := p + BundleSuffix
		switch {
		case pl.Bundle != "":
			b = pl.Bundle
		case pl.OutputDir != "":
			b = filepath.Join(pl.OutputDir, filepath.Base(p)+BundleSuffix)
		}
		if err := claim(b, p); err != nil {
			return nil, err
		}
		out = append(out, Subject{Path: p, Name: p, Bundle: b})
	}
	digests := make([]Checksum, len(pl.Digests))
	for i, d := range pl.Digests {
		digests[i] = Checksum{Name: hex.EncodeToString(d), Digest: d}
	}
	for _, set := range []struct {
		sums []Checksum
		dir  string
	}{{pl.Checksums, filepath.Dir(pl.ChecksumsPath)}, {digests, "."}} {
		dir := set.dir
		if pl.OutputDir != "" {
			dir = pl.OutputDir
		}
		for _, c := range set.sums {
			if err := checkName("checksums entry", c.Name); err != nil {
				return nil, err
			}
			base := filepath.Base(filepath.FromSlash(c.Name))
			if base == "." || base == ".." || base == string(filepath.Separator) {
				return nil, planErr("checksums", ": %q names no file", c.Name)
			}
			b := filepath.Join(dir, base+BundleSuffix)
			if pl.Bundle != "" {
				b = pl.Bundle
			}
			if err := claim(b, c.Name); err != nil {
				return nil, err
			}
			out = append(out, Subject{Name: c.Name, Digest: c.Digest, Bundle: b})
		}
	}
	return out, nil
}

func checkName(what, name string) error {
	if names.HasControl(name) {
		return planErr(what, " %s: the name holds a control character; a line break would split the bundle-paths output and could inject workflow commands into the log: rename it", strconv.Quote(name))
	}
	return nil
}

// ExpandDirs replaces each directory with the regular files under it, recursively, in
// lexical order. Hidden entries (a name starting with ".") and *.sigstore.json files are
// left out: a directory is usually a build output, and re-signing must not sign the
// previous run's bundles. Symbolic links are not followed (a link can point anywhere); a
// path given by name is kept as it is, and Plan.Subjects judges it.
func ExpandDirs(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		n := 0
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && !strings.HasSuffix(d.Name(), BundleSuffix) {
				out = append(out, path)
				n++
			}
			return nil
		})
		if err != nil {
			return nil, planErr("", "directory %s: %v", p, err)
		}
		if n == 0 {
			return nil, planErr("", "directory %s holds no file to sign (hidden files and *.sigstore.json are left out)", p)
		}
	}
	return out, nil
}
