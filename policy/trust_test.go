//go:build unix

package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/policy"
)

// policyDir makes dir the policy directory for the test (the value cachet is built with).
func policyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests need root: the policy must be root-owned, and they chown files to another user")
	}
	old := policy.Dir
	policy.Dir = dir
	t.Cleanup(func() { policy.Dir = old })
}

const okPolicy = "tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}\n"

const nobody = 65534

// TestLoadTrusted: a policy is read only from policy.Dir and only when root alone could
// have written it and every directory above it; symbolic links are resolved first.
func TestLoadTrusted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir, outside string) string // returns the --policy path ("" = default)
		says  string                                         // empty: loads
	}{
		{"default path", func(t *testing.T, dir, _ string) string { write(t, dir, "policy.yaml", okPolicy, 0o644); return "" }, ""},
		{"named inside the directory", func(t *testing.T, dir, _ string) string {
			return write(t, filepath.Join(dir, "teams"), "a.yaml", okPolicy, 0o600)
		}, ""},
		{"root-owned sticky directory above it", func(t *testing.T, dir, _ string) string {
			mkdir(t, filepath.Join(dir, "spool"), os.ModeSticky|0o777)
			return write(t, filepath.Join(dir, "spool"), "p.yaml", okPolicy, 0o644)
		}, ""},
		{"symbolic link within the directory", func(t *testing.T, dir, _ string) string {
			p := write(t, dir, "real.yaml", okPolicy, 0o644)
			link(t, p, filepath.Join(dir, "policy.yaml"))
			return ""
		}, ""},
		{"outside the directory (the job's RUNNER_TEMP)", func(t *testing.T, _, outside string) string {
			return write(t, outside, "policy.yaml", okPolicy, 0o644)
		}, "is not inside"},
		{"symbolic link in the directory to a file outside", func(t *testing.T, dir, outside string) string {
			link(t, write(t, outside, "policy.yaml", okPolicy, 0o644), filepath.Join(dir, "policy.yaml"))
			return ""
		}, "through a symbolic link"},
		{"dot-dot out of the directory", func(t *testing.T, dir, outside string) string {
			write(t, outside, "policy.yaml", okPolicy, 0o644)
			rel, _ := filepath.Rel(dir, filepath.Join(outside, "policy.yaml"))
			return filepath.Join(dir, rel)
		}, "is not inside"},
		{"owned by another user", func(t *testing.T, dir, _ string) string {
			p := write(t, dir, "policy.yaml", okPolicy, 0o644)
			chown(t, p, nobody)
			return ""
		}, "owned by uid 65534"},
		{"writable by its group", func(t *testing.T, dir, _ string) string { write(t, dir, "policy.yaml", okPolicy, 0o664); return "" }, "writable by its group or others"},
		{"writable by others", func(t *testing.T, dir, _ string) string { write(t, dir, "policy.yaml", okPolicy, 0o646); return "" }, "writable by its group or others"},
		{"a directory above it owned by another user", func(t *testing.T, dir, _ string) string {
			p := write(t, filepath.Join(dir, "teams"), "a.yaml", okPolicy, 0o644)
			chown(t, filepath.Join(dir, "teams"), nobody)
			return p
		}, "owned by uid 65534"},
		{"a directory above it writable by others, not sticky", func(t *testing.T, dir, _ string) string {
			mkdir(t, filepath.Join(dir, "open"), 0o777)
			return write(t, filepath.Join(dir, "open"), "p.yaml", okPolicy, 0o644)
		}, "writable by its group or others"},
		{"the policy directory itself writable by others", func(t *testing.T, dir, _ string) string {
			write(t, dir, "policy.yaml", okPolicy, 0o644)
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return ""
		}, "writable by its group or others"},
		{"approvals file owned by another user", func(t *testing.T, dir, _ string) string {
			ap := write(t, dir, "approvals.yaml", "[]\n", 0o644)
			chown(t, ap, nobody)
			write(t, dir, "policy.yaml", "approvals-file: approvals.yaml\n"+okPolicy, 0o644)
			return ""
		}, "owned by uid 65534"},
		{"approvals file through a link to a writable place", func(t *testing.T, dir, outside string) string {
			mkdir(t, filepath.Join(outside, "w"), 0o777)
			link(t, write(t, filepath.Join(outside, "w"), "approvals.yaml", "[]\n", 0o644), filepath.Join(dir, "approvals.yaml"))
			write(t, dir, "policy.yaml", "approvals-file: approvals.yaml\n"+okPolicy, 0o644)
			return ""
		}, "writable by its group or others"},
		{"a FIFO", func(t *testing.T, dir, _ string) string {
			mkfifo(t, filepath.Join(dir, "policy.yaml"))
			return ""
		}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir, outside := filepath.Join(base, "etc-cachet"), filepath.Join(base, "runner-temp")
			mkdir(t, dir, 0o755)
			mkdir(t, outside, 0o755)
			policyDir(t, dir)
			path := tc.setup(t, dir, outside)
			p, err := policy.Load(path)
			if tc.says == "" {
				if err != nil || len(p.Tenants) != 1 {
					t.Fatalf("Load(%q) = %v, want the policy", path, err)
				}
				return
			}
			if !errors.Is(err, policy.ErrUntrusted) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Load(%q) = %v, want ErrUntrusted saying %q", path, err, tc.says)
			}
		})
	}
}

// TestLoadTrustedIgnoresEnvironment: nothing a job sets (GITHUB_WORKSPACE, the working
// directory) moves the policy directory or loosens a check.
func TestLoadTrustedIgnoresEnvironment(t *testing.T) {
	base := t.TempDir()
	dir, ws := filepath.Join(base, "etc"), filepath.Join(base, "ws")
	mkdir(t, dir, 0o755)
	mkdir(t, ws, 0o755)
	policyDir(t, dir)
	p := write(t, ws, "policy.yaml", okPolicy, 0o644)
	t.Setenv("GITHUB_WORKSPACE", filepath.Join(base, "elsewhere"))
	t.Chdir(ws)
	for _, path := range []string{p, "policy.yaml", "./policy.yaml"} {
		if _, err := policy.Load(path); !errors.Is(err, policy.ErrUntrusted) {
			t.Errorf("Load(%q) from the workspace = %v, want ErrUntrusted", path, err)
		}
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		mkdir(t, dir, 0o755)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid int) {
	t.Helper()
	if err := os.Lchown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
}
