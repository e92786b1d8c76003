package policy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Dir is the directory signing policies live in. It is fixed when cachet is built, not
// chosen by the job: a packager or a test sets it with
// -ldflags "-X github.com/cachet-sign/cachet/policy.Dir=/opt/cachet/etc". No flag,
// input or environment variable moves it, since a job sets all of those.
var Dir = "/etc/cachet"

// ErrUntrusted is a policy or approvals file that the job asking to sign, or another
// unprivileged user, could have written or chosen: it is refused, never read.
var ErrUntrusted = errors.New("untrusted signing policy")

// maxFile bounds a policy or approvals file; policies are a few kilobytes.
const maxFile = 1 << 20

// DefaultPath is the policy read when key mode names none: Dir/policy.yaml.
func DefaultPath() string { return filepath.Join(Dir, "policy.yaml") }

// Resolve returns the real path of the policy file path (symbolic links resolved), or
// an ErrUntrusted error when it is not inside Dir.
func Resolve(path string) (string, error) {
	if !filepath.IsAbs(Dir) {
		return "", fmt.Errorf("%w: the policy directory %q this cachet was built with is not absolute", ErrUntrusted, Dir)
	}
	dir, err := filepath.EvalSymlinks(Dir)
	if err != nil {
		return "", fmt.Errorf("%w: policy directory: %v (the runner's operator creates %s, owned by root)", ErrPolicy, err, Dir)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		how := ""
		if real != abs {
			how = " (through a symbolic link to " + real + ")"
		}
		return "", fmt.Errorf("%w: %s%s is not inside %s: the signing policy lives where the runner's operator put it (built into cachet), never where a job points", ErrUntrusted, path, how, Dir)
	}
	return real, nil
}

// untrusted is the error for a path some unprivileged user could have written.
func untrusted(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s: only root may be able to write a signing policy, its approvals and every directory above them (chown root, chmod go-w)", ErrUntrusted, path, fmt.Sprintf(format, args...))
}
