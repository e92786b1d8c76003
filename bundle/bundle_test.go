package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	dsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
)

func TestNewRefusesBundlesWithoutMaterial(t *testing.T) {
	if _, err := New(MessageSignature{Digest: make([]byte, 32), Signature: []byte("s")}); err == nil {
		t.Fatal("message signature without certificate or key hint accepted")
	}
	env := &dsse.Envelope{PayloadType: "application/vnd.in-toto+json", Payload: []byte("{}"), Signatures: []*dsse.Signature{{Sig: []byte("s")}}}
	if _, err := NewDSSE(Envelope{Envelope: env}); err == nil {
		t.Fatal("envelope without certificate or key hint accepted")
	}
	if _, err := NewDSSE(Envelope{KeyHint: "k", Envelope: &dsse.Envelope{}}); err == nil {
		t.Fatal("unsigned envelope accepted")
	}
}

func TestWriteAtomicLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	// The target is a directory: the rename fails after the temp file was written.
	target := filepath.Join(dir, "b.sigstore.json")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(target, "keep"), nil, 0o644)
	if err := writeAtomic(target, []byte("{}")); err == nil {
		t.Fatal("write over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	ok := filepath.Join(dir, "ok.json")
	if err := writeAtomic(ok, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(ok); string(b) != `{"a":1}` {
		t.Fatalf("content %q", b)
	}
}

// TestNewParsedAgreesWithNew: NewParsed refuses what New refuses, and for a good
// message signature returns the bundle New returns, with its (here: no) log entries.
func TestNewParsedAgreesWithNew(t *testing.T) {
	bad := MessageSignature{Digest: make([]byte, 32), Signature: []byte("s")}
	if _, err := NewParsed(bad); err == nil {
		t.Fatal("message signature without certificate or key hint accepted")
	}
	good := MessageSignature{KeyHint: "k", Digest: make([]byte, 32), Signature: []byte("s")}
	b, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewParsed(good)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := b.MarshalJSON()
	got, _ := p.MarshalJSON()
	if string(got) != string(want) || !p.HaveEntries || len(p.Entries) != 0 {
		t.Fatalf("NewParsed: %s (entries %v, %d), New: %s", got, p.HaveEntries, len(p.Entries), want)
	}
}

// Many writers at once go through the group writer: each file lands whole under its
// name, a failing one (its directory is missing; its target is a directory) fails
// alone, and no temporary file is left.
func TestWriteAtomicInGroups(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "taken.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			path := filepath.Join(dir, fmt.Sprintf("b%d.json", i))
			switch i {
			case 7:
				path = filepath.Join(dir, "missing", "b.json")
			case 8:
				path = filepath.Join(dir, "taken.json")
			}
			errs[i] = writeAtomic(path, []byte(strings.Repeat(strconv.Itoa(i), 100)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7 || i == 8) != (err != nil) {
			t.Fatalf("file %d: %v", i, err)
		}
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("b%d.json", i)))
		if err != nil || string(b) != strings.Repeat(strconv.Itoa(i), 100) {
			t.Fatalf("file %d: %q, %v", i, b, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != n-2+1 { // the n-2 bundles and taken.json
		t.Fatalf("%d entries, want %d", len(entries), n-1)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

// EncodeMessage is New's JSON, byte for byte, for a bundle New accepts.
func TestEncodeMessageIsNewsJSON(t *testing.T) {
	for _, m := range []MessageSignature{
		{KeyHint: "k", Digest: make([]byte, 32), Signature: []byte("s")},
		{KeyHint: "k", Digest: make([]byte, 32), Signature: []byte("s"), Timestamps: [][]byte{[]byte("t1"), []byte("t2")}},
	} {
		b, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.MarshalJSON()
		got, err := EncodeMessage(m)
		if err != nil || string(got) != string(want) {
			t.Fatalf("EncodeMessage: %s, %v; New: %s", got, err, want)
		}
	}
	if _, err := EncodeMessage(MessageSignature{Digest: make([]byte, 32), Signature: []byte("s")}); err == nil {
		t.Fatal("message signature without certificate or key hint encoded")
	}
}
