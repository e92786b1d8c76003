package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/tlog"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// countingSigner records how many signatures are in flight at once. With gate set
// (gateAt > 0), every signature waits until gateAt of them are in flight together, then
// all proceed: concurrency is shown by the signatures meeting, not by a sleep that
// makes overlap likely.
type countingSigner struct {
	crypto.Signer
	now, peak atomic.Int32
	gateAt    int32
	gate      chan struct{} // closed when gateAt signatures were in flight at once
	gateOnce  sync.Once
}

func (c *countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if c.gateAt > 0 {
		if n >= c.gateAt {
			c.gateOnce.Do(func() { close(c.gate) })
		}
		// Bounds a hang only: fewer than gateAt signers ever running fails the test.
		select {
		case <-c.gate:
		case <-time.After(time.Minute):
			return nil, fmt.Errorf("only %d signatures ever ran at once, want %d", c.peak.Load(), c.gateAt)
		}
	}
	return c.Signer.Sign(r, d, o)
}

// keyPipeline is a pipeline with no network: an ECDSA key, a key hint, and a Verify
// that checks the bundle's signature over the digest with that key.
func keyPipeline(t *testing.T) (*Pipeline, *countingSigner) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingSigner{Signer: k}
	return &Pipeline{Signer: cs, KeyHint: "test-key", Verify: verifyWith(&k.PublicKey)}, cs
}

func verifyWith(pub *ecdsa.PublicKey) func(*sgbundle.Bundle, []byte) error {
	return func(b *sgbundle.Bundle, digest []byte) error {
		ms := b.GetMessageSignature()
		if ms == nil || !bytes.Equal(ms.GetMessageDigest().GetDigest(), digest) {
			return errors.New("digest differs")
		}
		if !ecdsa.VerifyASN1(pub, digest, ms.GetSignature()) {
			return errors.New("signature does not verify")
		}
		return nil
	}
}

// readNonEmpty returns the file at path, failing the test when it cannot be read or is
// empty: comparing two unreadable files (nil with nil) would prove nothing.
func readNonEmpty(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return b
}

func TestSignAllParallelAndPartialFailure(t *testing.T) {
	dir := t.TempDir()
	p, cs := keyPipeline(t)
	cs.gateAt, cs.gate = 6, make(chan struct{})
	var subjects []Subject
	for i := range 40 {
		path := filepath.Join(dir, fmt.Sprintf("a%02d.bin", i))
		if i%13 != 5 { // a05, a18, a31 are missing
			if err := os.WriteFile(path, []byte(fmt.Sprint("artifact ", i)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		subjects = append(subjects, Subject{Path: path, Bundle: path + ".sigstore.json"})
	}
	var calls int
	out := p.SignAll(t.Context(), subjects, RunOptions{Parallel: 6, OnOutcome: func(Outcome) { calls++ }})
	if len(out) != len(subjects) || calls != len(subjects) {
		t.Fatalf("%d outcomes, %d callbacks, want %d", len(out), calls, len(subjects))
	}
	// The first six signatures wait for each other: exactly Parallel at once, and a
	// seventh running beside them (the bound broken) would raise the peak above 6.
	if peak := cs.peak.Load(); peak != 6 {
		t.Fatalf("peak concurrency %d, want 6 (Parallel)", peak)
	}
	for i, o := range out {
		if o.Subject.Path != subjects[i].Path {
			t.Fatalf("outcome %d is for %s, want %s: order lost", i, o.Subject.Path, subjects[i].Path)
		}
		missing := i%13 == 5
		_, statErr := os.Stat(subjects[i].Bundle)
		switch {
		case missing && (o.Err == nil || !errors.Is(o.Err, os.ErrNotExist) || statErr == nil):
			t.Fatalf("%s: missing file: err %v, bundle stat %v", o.Subject.Name, o.Err, statErr)
		case !missing && (o.Err != nil || statErr != nil || o.Kept):
			t.Fatalf("%s: err %v, bundle stat %v, kept %v", o.Subject.Name, o.Err, statErr, o.Kept)
		}
	}
}

func TestSignAllResume(t *testing.T) {
	dir := t.TempDir()
	p, _ := keyPipeline(t)
	var subjects []Subject
	for i := range 5 {
		path := filepath.Join(dir, fmt.Sprintf("r%d.bin", i))
		if err := os.WriteFile(path, []byte(fmt.Sprint("resume ", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, Subject{Path: path, Bundle: path + ".sigstore.json"})
	}
	for _, o := range p.SignAll(t.Context(), subjects, RunOptions{Resume: true}) {
		if o.Err != nil || o.Kept || o.Replaced != "" {
			t.Fatalf("first run: %+v", o)
		}
	}
	before := readNonEmpty(t, subjects[0].Bundle)

	// r1: garbage; r2: a bundle of another artifact; r3: signed by another key.
	if err := os.WriteFile(subjects[1].Bundle, []byte("{not a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := readNonEmpty(t, subjects[4].Bundle)
	if err := os.WriteFile(subjects[2].Bundle, other, 0o644); err != nil {
		t.Fatal(err)
	}
	foreign, _ := keyPipeline(t)
	if r := foreign.Sign(t.Context(), subjects[3]); r.Err != nil {
		t.Fatal(r.Err)
	}

	out := p.SignAll(t.Context(), subjects, RunOptions{Resume: true})
	for i, o := range out {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Subject.Name, o.Err)
		}
		wantKept := i == 0 || i == 4
		if o.Kept != wantKept || (wantKept != (o.Replaced == "")) {
			t.Fatalf("%s: kept %v replaced %q, want kept %v", o.Subject.Name, o.Kept, o.Replaced, wantKept)
		}
		if !wantKept && !strings.Contains(o.Replaced, ErrNotKept.Error()) {
			t.Fatalf("%s: reason %q", o.Subject.Name, o.Replaced)
		}
		if _, err := p.Existing(o.Subject.Bundle, o.Digest); err != nil {
			t.Fatalf("%s: after the re-run the bundle does not verify: %v", o.Subject.Name, err)
		}
	}
	after := readNonEmpty(t, subjects[0].Bundle)
	if !bytes.Equal(before, after) {
		t.Fatal("a valid bundle was rewritten")
	}

	// Without Resume, everything is signed again (the behaviour before Resume existed).
	for _, o := range p.SignAll(t.Context(), subjects, RunOptions{}) {
		if o.Err != nil || o.Kept {
			t.Fatalf("no resume: %+v", o)
		}
	}
}

func TestSignAllCancelledReportsEverySubject(t *testing.T) {
	dir := t.TempDir()
	p, _ := keyPipeline(t)
	var subjects []Subject
	for i := range 30 {
		d := sha256.Sum256([]byte{byte(i)})
		subjects = append(subjects, Subject{Name: fmt.Sprint("d", i), Digest: d[:], Bundle: filepath.Join(dir, fmt.Sprint("d", i, ".sigstore.json"))})
	}
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	out := p.SignAll(ctx, subjects, RunOptions{Parallel: 2, OnOutcome: func(Outcome) {
		if n++; n == 5 {
			cancel()
		}
	}})
	var signed, notSigned int
	for _, o := range out {
		switch {
		case o.Err == nil:
			signed++
		case errors.Is(o.Err, context.Canceled):
			notSigned++
		default:
			t.Fatalf("%s: %v", o.Subject.Name, o.Err)
		}
	}
	if signed+notSigned != len(subjects) || notSigned == 0 {
		t.Fatalf("signed %d, not signed %d of %d", signed, notSigned, len(subjects))
	}
}

// TestHashContext: the pooled-buffer hash over a file of several buffers is SHA-256.
func TestHashContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 3*regfile.HashBufferSize+12345)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := HashContext(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatal("HashContext is not the file's SHA-256")
	}
}

// dupLog is a Rekor v2 stand-in that answers the first n adds with ErrDuplicateV2.
type dupLog struct {
	dups  int
	calls atomic.Int32
	sigs  [][]byte
}

func (d *dupLog) Add(_ context.Context, r tlog.HashedRekord) (*rekorpb.TransparencyLogEntry, error) {
	n := int(d.calls.Add(1))
	d.sigs = append(d.sigs, r.Signature)
	if n <= d.dups {
		return nil, fmt.Errorf("%w: an equivalent entry already exists", tlog.ErrDuplicateV2)
	}
	body, err := protojson.Marshal(&rekortilespb.Entry{Kind: "hashedrekord", ApiVersion: "0.0.2", Spec: &rekortilespb.Spec{
		Spec: &rekortilespb.Spec_HashedRekordV002{HashedRekordV002: &rekortilespb.HashedRekordLogEntryV002{
			Signature: &rekortilespb.Signature{Content: r.Signature},
			Data:      &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: r.Digest}}}}})
	if err != nil {
		return nil, err
	}
	return &rekorpb.TransparencyLogEntry{LogIndex: 7, LogId: &protocommon.LogId{KeyId: []byte("log")},
		KindVersion:       &rekorpb.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		InclusionProof:    &rekorpb.InclusionProof{LogIndex: 7, TreeSize: 8, RootHash: make([]byte, 32), Checkpoint: &rekorpb.Checkpoint{Envelope: "cp"}},
		CanonicalizedBody: body}, nil
}

func (d *dupLog) AddDSSE(context.Context, tlog.DSSE) (*rekorpb.TransparencyLogEntry, error) {
	return nil, errors.New("not used")
}

func (d *dupLog) IntegratedTime() bool { return true }

// TestSignResignsOnDuplicate: a v2 log's 409 is answered by signing again, once, with a
// new signature; a second 409 fails the subject with the reason.
func TestSignResignsOnDuplicate(t *testing.T) {
	for _, tc := range []struct {
		dups  int
		calls int32
		ok    bool
	}{{0, 1, true}, {1, 2, true}, {2, 2, false}} {
		t.Run(fmt.Sprint(tc.dups), func(t *testing.T) {
			p, _ := keyPipeline(t)
			l := &dupLog{dups: tc.dups}
			p.Rekor = l
			dir := t.TempDir()
			art := filepath.Join(dir, "a.bin")
			if err := os.WriteFile(art, []byte("artifact"), 0o644); err != nil {
				t.Fatal(err)
			}
			res := p.Sign(context.Background(), Subject{Name: "a.bin", Path: art, Bundle: art + ".sigstore.json"})
			if l.calls.Load() != tc.calls {
				t.Fatalf("%d adds, want %d", l.calls.Load(), tc.calls)
			}
			if len(l.sigs) == 2 && bytes.Equal(l.sigs[0], l.sigs[1]) {
				t.Fatal("signed again with the same signature")
			}
			_, statErr := os.Stat(art + ".sigstore.json")
			if tc.ok != (res.Err == nil) || tc.ok != (statErr == nil) {
				t.Fatalf("result %v, bundle %v; want ok=%v", res.Err, statErr, tc.ok)
			}
			if !tc.ok && !errors.Is(res.Err, tlog.ErrDuplicateV2) {
				t.Fatalf("error %v, want ErrDuplicateV2", res.Err)
			}
		})
	}
}

func TestCheckParallel(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: false, 1: true, 8: true, MaxParallel: true, MaxParallel + 1: false} {
		if err := CheckParallel(n); (err == nil) != ok {
			t.Errorf("CheckParallel(%d) = %v, want accepted %v", n, err, ok)
		}
	}
}
