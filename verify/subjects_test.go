package verify

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSubjects: paths (a missing one too) and digests become subjects with their
// bundles; an existing path that is not a regular file, and a bad digest, are refused.
func TestSubjects(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.tgz")
	if err := os.WriteFile(file, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name            string
		paths, digests  []string
		bundleDir       string
		want            []Subject
		notRegular, bad bool
	}{
		{name: "a file and a missing one, bundles beside", paths: []string{file, missing},
			want: []Subject{{Name: file, Path: file, Bundle: file + ".sigstore.json"}, {Name: missing, Path: missing, Bundle: missing + ".sigstore.json"}}},
		{name: "a bundle directory", paths: []string{file}, digests: []string{"sha256:" + hex}, bundleDir: "/b",
			want: []Subject{{Name: file, Path: file, Bundle: "/b/a.tgz.sigstore.json"}, {Name: "sha256:" + hex, Bundle: "/b/" + hex + ".sigstore.json"}}},
		{name: "a digest with its bundle", digests: []string{"sha256:" + hex + "=x.json"}, want: []Subject{{Name: "sha256:" + hex, Bundle: "x.json"}}},
		{name: "a directory", paths: []string{file, dir}, notRegular: true},
		{name: "a digest without a bundle", digests: []string{"sha256:" + hex}, bad: true},
		{name: "a short digest", digests: []string{"sha256:ab=x.json"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Subjects(tc.paths, tc.digests, tc.bundleDir)
			var nre *NotRegularError
			switch {
			case tc.notRegular:
				if !errors.As(err, &nre) || !strings.Contains(err.Error(), dir+" is a directory: only regular files are artifacts") {
					t.Fatalf("err %v, want a *NotRegularError", err)
				}
				return
			case tc.bad:
				if !errors.Is(err, ErrSubject) {
					t.Fatalf("err %v, want ErrSubject", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for i := range got {
				got[i].Digest = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Subjects = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	paths, digests := SplitArgs([]string{"a.bin", d + "=b.json", "dist/*", d})
	if strings.Join(paths, " ") != "a.bin dist/*" || strings.Join(digests, " ") != d+"=b.json "+d {
		t.Fatalf("paths %q, digests %q", paths, digests)
	}
	if p, ds := SplitArgs(nil); p != nil || ds != nil {
		t.Fatalf("nothing: %q %q", p, ds)
	}
}
