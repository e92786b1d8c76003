package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpen: "" and "-" log to the writer given, a path is appended to (its earlier
// lines kept), and a path that cannot be opened is an error.
func TestOpen(t *testing.T) {
	var std bytes.Buffer
	for _, path := range []string{"", "-"} {
		l, closeLog, err := Open(path, &std)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Log(Event{Event: "e" + path}); err != nil || closeLog() != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(std.String(), "\n"); n != 2 {
		t.Fatalf("the writer got %d lines: %q", n, std.String())
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(file, []byte("earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, closeLog, err := Open(file, &std)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(Event{Event: "codesign.signed"}); err != nil {
		t.Fatal(err)
	}
	closeLog()
	b, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(b), "earlier\n{") || !strings.Contains(string(b), `"event":"codesign.signed"`) {
		t.Fatalf("file: %q", b)
	}
	if _, _, err := Open(filepath.Join(file, "under-a-file"), &std); err == nil {
		t.Fatal("opened a log under a regular file")
	}
}
