package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestLinesAndNone(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "lines", 10)
	for i := range 10 {
		p.Add(i == 3, i == 4, "item")
	}
	p.Stop()
	p.Stop() // a second Stop does nothing
	out := b.String()
	if strings.Count(out, "item\n") != 10 || strings.Count(out, "progress: ") != 10 ||
		!strings.Contains(out, "progress: 10/10 (100%), 1 failed, 1 kept") {
		t.Fatalf("lines mode:\n%s", out)
	}
	b.Reset()
	p = New(&b, "none", 3)
	p.Add(false, false, "one")
	p.Stop()
	if b.String() != "one\n" {
		t.Fatalf("none mode: %q", b.String())
	}
	b.Reset()
	p = New(&b, "auto", 2) // a buffer is no terminal: lines
	p.Add(false, false, "x")
	p.Stop()
	if !strings.Contains(b.String(), "progress: 1/2 (50%)") || strings.Contains(b.String(), "\r") {
		t.Fatalf("auto on a non-terminal: %q", b.String())
	}
}

func TestCheckMode(t *testing.T) {
	for mode, ok := range map[string]bool{"auto": true, "bar": true, "lines": true, "none": true, "": false, "Bar": false, "quiet": false} {
		if err := CheckMode(mode); (err == nil) != ok {
			t.Errorf("CheckMode(%q) = %v, want accepted %v", mode, err, ok)
		}
	}
}
