package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
)

// messageCases are message signatures of every shape a signing run makes (Rekor v1
// and v2 entries, key mode with and without an entry, one or two timestamps) and of
// the edges of protojson's rules: zero integers and empty bytes omitted, nil and
// empty messages, strings needing every kind of escape, and random bytes.
func messageCases(rng *rand.Rand) map[string]MessageSignature {
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	v1 := func() *rekorpb.TransparencyLogEntry {
		return &rekorpb.TransparencyLogEntry{LogIndex: rng.Int64N(1 << 40), LogId: &protocommon.LogId{KeyId: bytesOf(32)},
			KindVersion: &rekorpb.KindVersion{Kind: "hashedrekord", Version: "0.0.1"}, IntegratedTime: 1_700_000_000 + rng.Int64N(1e8),
			InclusionPromise: &rekorpb.InclusionPromise{SignedEntryTimestamp: bytesOf(70)},
			InclusionProof: &rekorpb.InclusionProof{LogIndex: rng.Int64N(1 << 30), RootHash: bytesOf(32), TreeSize: 1 + rng.Int64N(1<<40),
				Hashes:     [][]byte{bytesOf(32), bytesOf(32), bytesOf(32)},
				Checkpoint: &rekorpb.Checkpoint{Envelope: "rekor.sigstore.dev - 1193050959916656506\n42\nq6s=\n\n— rekor.sigstore.dev wNI9ajBFAiEA\n"}},
			CanonicalizedBody: bytesOf(700)}
	}
	v2 := func() *rekorpb.TransparencyLogEntry {
		e := v1()
		e.KindVersion.Version, e.IntegratedTime, e.InclusionPromise = "0.0.2", 0, nil
		e.InclusionProof.Checkpoint.Envelope = "log2025-1.rekor.sigstore.dev\n601\nYJ+B=\n\n— log2025-1.rekor.sigstore.dev MkJJFu8=\n"
		return e
	}
	cert, sig, digest := bytesOf(1700), bytesOf(71), bytesOf(32)
	cases := map[string]MessageSignature{
		"rekor v1":               {Certificate: cert, Digest: digest, Signature: sig, TlogEntries: []*rekorpb.TransparencyLogEntry{v1()}, Timestamps: [][]byte{bytesOf(1100)}},
		"rekor v2":               {Certificate: cert, Digest: digest, Signature: sig, TlogEntries: []*rekorpb.TransparencyLogEntry{v2()}, Timestamps: [][]byte{bytesOf(1100), bytesOf(900)}},
		"rekor v1, no timestamp": {Certificate: cert, Digest: digest, Signature: sig, TlogEntries: []*rekorpb.TransparencyLogEntry{v1()}},
		"key mode":               {KeyHint: "c2hhMjU2OmFiY2Q=", Digest: digest, Signature: bytesOf(256), Timestamps: [][]byte{bytesOf(1000)}},
		"key mode, two entries":  {KeyHint: "k", Digest: digest, Signature: sig, TlogEntries: []*rekorpb.TransparencyLogEntry{v1(), v2()}},
		"escapes":                {KeyHint: "\"q\" \\ \b\f\n\r\t \x00\x01\x1f\x7f <>& é — \u2028\u2029 \U0001F600", Digest: digest, Signature: sig},
	}
	zero := v1()
	zero.LogIndex, zero.InclusionProof.LogIndex, zero.InclusionProof.Hashes = 0, 0, nil
	zero.InclusionPromise.SignedEntryTimestamp, zero.LogId.KeyId, zero.KindVersion.Kind = nil, nil, ""
	zero.InclusionProof.Checkpoint.Envelope = "cp\x02\"\\\n"
	cases["zeros and empties"] = MessageSignature{Certificate: cert, Digest: nil, Signature: nil, TlogEntries: []*rekorpb.TransparencyLogEntry{zero}}
	bare := &rekorpb.TransparencyLogEntry{LogIndex: -3, InclusionProof: &rekorpb.InclusionProof{Checkpoint: &rekorpb.Checkpoint{}}}
	cases["nil messages"] = MessageSignature{Certificate: []byte{}, Digest: digest, Signature: sig, TlogEntries: []*rekorpb.TransparencyLogEntry{bare}}
	return cases
}

// TestMessageJSONIsProtojson: MessageJSON is byte for byte protojson's encoding of the
// same bundle with protojson's white space removed, for every shape of messageCases
// (over many random draws) and for the bundles of testdata/verify (re-encoded from
// their own fields); and it declines what protojson refuses.
func TestMessageJSONIsProtojson(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		for name, m := range messageCases(rng) {
			checkMessageJSON(t, fmt.Sprintf("%s (%d)", name, round), m)
		}
	}
	paths, err := filepath.Glob("../testdata/verify/*.sigstore.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata bundles: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var pb protobundle.Bundle
		if err := protojson.Unmarshal(data, &pb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ms, vm := pb.GetMessageSignature(), pb.GetVerificationMaterial()
		if ms == nil || vm.GetCertificate() == nil {
			continue
		}
		m := MessageSignature{Certificate: vm.GetCertificate().GetRawBytes(), Digest: ms.GetMessageDigest().GetDigest(),
			Signature: ms.GetSignature(), TlogEntries: vm.GetTlogEntries()}
		for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
			m.Timestamps = append(m.Timestamps, ts.GetSignedTimestamp())
		}
		checkMessageJSON(t, p, m)
	}
	if _, ok := MessageJSON(MessageSignature{KeyHint: "bad \xff utf-8", Digest: make([]byte, 32)}); ok {
		t.Error("invalid UTF-8 in a string accepted")
	}
	if _, ok := MessageJSON(MessageSignature{Digest: make([]byte, 32)}); ok {
		t.Error("neither a certificate nor a key hint accepted")
	}
	if _, ok := MessageJSON(MessageSignature{KeyHint: "k", TlogEntries: []*rekorpb.TransparencyLogEntry{nil}}); ok {
		t.Error("a nil log entry accepted")
	}
}

func checkMessageJSON(t *testing.T, name string, m MessageSignature) {
	t.Helper()
	want, err := EncodeMessage(m)
	if err != nil {
		t.Fatalf("%s: EncodeMessage: %v", name, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	got, ok := MessageJSON(m)
	if !ok || !bytes.Equal(got, compact.Bytes()) {
		t.Fatalf("%s: MessageJSON (ok %v)\n%s\nprotojson\n%s", name, ok, got, compact.Bytes())
	}
	// And protojson reads it back as the bundle it encoded.
	var back, orig protobundle.Bundle
	if err := protojson.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := protojson.Unmarshal(want, &orig); err != nil || !proto.Equal(&back, &orig) {
		t.Fatalf("%s: read back differs (%v)", name, err)
	}
}
