package bundle

import (
	"os"
	"path/filepath"
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
