package regfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.txt", "b.txt", "a.txt.sigstore.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.txt"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	bundles := func(m string) bool { return strings.HasSuffix(m, ".sigstore.json") }
	j := func(names ...string) string {
		for i, n := range names {
			names[i] = filepath.Join(dir, n)
		}
		return strings.Join(names, " ")
	}
	for _, tc := range []struct {
		name     string
		patterns []string
		dirs     bool
		want     string   // joined paths
		warns    []string // substrings of the warnings
		err      string
	}{
		{name: "a glob takes regular files only", patterns: []string{j("*.txt")}, want: j("a.txt", "b.txt"),
			warns: []string{"link.txt: a symbolic link", "fifo.txt: a FIFO, not a regular file", "sub.txt: a directory"}},
		{name: "with dirs, directories too", patterns: []string{j("*.txt")}, dirs: true, want: j("a.txt", "b.txt", "sub.txt")},
		{name: "named paths are kept as they are", patterns: []string{j("link.txt"), j("nope")}, want: j("link.txt", "nope")},
		{name: "each name once", patterns: []string{j("a.txt"), j("a.*")}, want: j("a.txt")},
		{name: "quiet files are skipped without a word", patterns: []string{j("*.json")}, err: "matches no regular file"},
		{name: "no match", patterns: []string{j("*.zip")}, err: "matches no file"},
		{name: "bad glob", patterns: []string{"["}, err: "bad glob"},
	} {
		var warn bytes.Buffer
		got, err := Expand(tc.patterns, ExpandOptions{Dirs: tc.dirs, Quiet: bundles, Warn: &warn})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v, %v\nwant %s", tc.name, got, err, tc.want)
		}
		for _, w := range tc.warns {
			if !strings.Contains(warn.String(), w) {
				t.Errorf("%s: warnings lack %q:\n%s", tc.name, w, warn.String())
			}
		}
		if strings.Contains(warn.String(), "sigstore.json") {
			t.Errorf("%s: a quiet file was reported: %s", tc.name, warn.String())
		}
	}
}
