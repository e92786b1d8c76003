package sign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadChecksumsFile(t *testing.T) {
	dir := t.TempDir()
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, content string
		missing       bool
		n             int
		detail        string // a *ChecksumsFileError whose message ends so; "" with n==0: another error
	}{
		{name: "two artifacts", content: hex + "  a.tar.gz\n" + hex + " *b.zip\n", n: 2},
		{name: "empty", content: "\n\n", detail: " lists no artifact"},
		{name: "not sha256sum output", content: "hello world\n", detail: "line 1"},
		{name: "missing", missing: true},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if !tc.missing {
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		sums, err := ReadChecksumsFile(path)
		var ce *ChecksumsFileError
		switch {
		case tc.n > 0 && (err != nil || len(sums) != tc.n):
			t.Errorf("%s: %d sums, %v", tc.name, len(sums), err)
		case tc.detail != "" && (!errors.As(err, &ce) || ce.Path != path || !strings.Contains(err.Error(), tc.detail)):
			t.Errorf("%s: err %v, want a ChecksumsFileError with %q", tc.name, err, tc.detail)
		case tc.n == 0 && tc.detail == "" && (err == nil || errors.As(err, &ce)):
			t.Errorf("%s: err %v, want the open error", tc.name, err)
		}
	}
}
