package sign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseChecksums(t *testing.T) {
	a := strings.Repeat("a", 64)
	b := strings.Repeat("b", 64)
	tests := []struct {
		name, in string
		want     []string // "NAME=HEXPREFIX8"
		wantErr  string
	}{
		{"text and binary mode", a + "  app.tar.gz\n" + b + " *app.zip\n", []string{"app.tar.gz=aaaaaaaa", "app.zip=bbbbbbbb"}, ""},
		{"blank lines and CRLF", "\n" + a + "  x\r\n\n", []string{"x=aaaaaaaa"}, ""},
		{"spaces in names kept", a + "  my file .bin\n", []string{"my file .bin=aaaaaaaa"}, ""},
		{"escaped name", `\` + a + `  dir\\new\nline` + "\n", []string{"dir\\new\nline=aaaaaaaa"}, ""},
		{"BSD tag form", "SHA256 (app (1).tgz) = " + b + "\n", []string{"app (1).tgz=bbbbbbbb"}, ""},
		{"same name same digest once", a + "  x\n" + a + "  x\n", []string{"x=aaaaaaaa"}, ""},
		{"same name two digests", a + "  x\n" + b + "  x\n", nil, "line 2"},
		{"md5 length", "d41d8cd98f00b204e9800998ecf8427e  x\n", nil, "line 1"},
		{"sha512 length", strings.Repeat("c", 128) + "  x\n", nil, "line 1"},
		{"not hex", strings.Repeat("z", 64) + "  x\n", nil, "not hex"},
		{"one space", a + " x\n", nil, "line 1"},
		{"no name", a + "  \n", nil, "empty"},
		{"bad escape", `\` + a + `  a\tb` + "\n", nil, "escape"},
		{"BSD other algorithm", "MD5 (x) = d41d8cd98f00b204e9800998ecf8427e\n", nil, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChecksums(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrChecksums) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want ErrChecksums with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, c := range got {
				s = append(s, c.Name+"="+hex.EncodeToString(c.Digest)[:8])
			}
			if strings.Join(s, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// TestParseChecksumsReadsRealSha256sum parses what the system's sha256sum prints,
// including a name it must escape.
func TestParseChecksumsReadsRealSha256sum(t *testing.T) {
	bin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Fatalf("sha256sum (coreutils) is needed: %v", err)
	}
	dir := t.TempDir()
	names := []string{"plain.bin", "with space.bin", "back\\slash.bin"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("content "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []bool{false, true} {
		args := names
		if tag {
			args = append([]string{"--tag"}, names...)
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseChecksums(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("tag=%v: %v\n%s", tag, err, out)
		}
		if len(got) != len(names) {
			t.Fatalf("tag=%v: %d entries, want %d", tag, len(got), len(names))
		}
		for i, c := range got {
			want := sha256.Sum256([]byte("content " + names[i]))
			if c.Name != names[i] || !bytes.Equal(c.Digest, want[:]) {
				t.Fatalf("tag=%v: entry %d = %q %x", tag, i, c.Name, c.Digest)
			}
		}
	}
}

func FuzzParseChecksums(f *testing.F) {
	a := strings.Repeat("a", 64)
	f.Add(a + "  app.tar.gz\n")
	f.Add(`\` + a + `  x\\y\nz` + "\n")
	f.Add("SHA256 (x) = " + a + "\n")
	f.Add(a + " *x\r\n" + a + "  x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseChecksums(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range got {
			if len(c.Digest) != sha256.Size || c.Name == "" || strings.ContainsRune(c.Name, 0) || seen[c.Name] {
				t.Fatalf("accepted a bad entry %q %x", c.Name, c.Digest)
			}
			seen[c.Name] = true
		}
	})
}
