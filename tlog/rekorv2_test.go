package tlog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdbnote "golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
)

// fakeTiles answers POST /api/v2/log/entries like rekor-tiles for a one-entry log: the
// canonical hashedrekord 0.0.2 body, a checkpoint signed under origin, a log ID. tamper
// edits the entry before it is sent.
type fakeTiles struct {
	origin string
	key    ed25519.PrivateKey
	logID  []byte
	status []int // answered in turn before a 201; empty means 201 at once
	calls  atomic.Int32
	tamper func(*rekorpb.TransparencyLogEntry)
}

func newFakeTiles(t *testing.T, origin string) *fakeTiles {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, id, err := note.KeyHash(origin, priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeTiles{origin: origin, key: priv, logID: id}
}

func (f *fakeTiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1)) - 1
	if n < len(f.status) {
		http.Error(w, `{"code":14,"message":"try again"}`, f.status[n])
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/log/entries" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req rekortilespb.CreateEntryRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	hr := req.GetHashedRekordRequestV002()
	entry := &rekortilespb.Entry{Kind: "hashedrekord", ApiVersion: "0.0.2", Spec: &rekortilespb.Spec{
		Spec: &rekortilespb.Spec_HashedRekordV002{HashedRekordV002: &rekortilespb.HashedRekordLogEntryV002{
			Signature: hr.GetSignature(), Data: &protocommon.HashOutput{Digest: hr.GetDigest(), Algorithm: protocommon.HashAlgorithm_SHA2_256}}}}}
	raw, _ := protojson.Marshal(entry)
	canon, err := jsoncanonicalizer.Transform(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(canon)
	sv, _ := signature.LoadED25519Signer(f.key)
	ns, err := note.NewNoteSigner(r.Context(), f.origin, sv)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cp := flog.Checkpoint{Origin: f.origin, Size: 1, Hash: leaf}
	signed, err := sumdbnote.Sign(&sumdbnote.Note{Text: string(cp.Marshal())}, ns)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tle := &rekorpb.TransparencyLogEntry{
		LogIndex: 0, LogId: &protocommon.LogId{KeyId: f.logID},
		KindVersion:       &rekorpb.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		CanonicalizedBody: canon,
		InclusionProof: &rekorpb.InclusionProof{LogIndex: 0, TreeSize: 1, RootHash: leaf,
			Checkpoint: &rekorpb.Checkpoint{Envelope: string(signed)}},
	}
	if f.tamper != nil {
		f.tamper(tle)
	}
	out, _ := protojson.Marshal(tle)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

// trustedFor is a trusted root listing the fake log at url.
func trustedFor(t *testing.T, f *fakeTiles, url string) *root.TrustedRoot {
	t.Helper()
	tl := &root.TransparencyLog{BaseURL: url, ID: f.logID, ValidityPeriodStart: time.Now().Add(-time.Hour),
		HashFunc: crypto.SHA256, PublicKey: f.key.Public(), SignatureHashFunc: crypto.SHA512}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil,
		map[string]*root.TransparencyLog{hex.EncodeToString(f.logID): tl})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// signed is a hashedrekord request: an ECDSA P-256 signature over a digest, key in PEM.
func signed(t *testing.T) HashedRekord {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("artifact"))
	sig, err := k.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return HashedRekord{Digest: d[:], Signature: sig, PublicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func TestRekorV2Add(t *testing.T) {
	req := signed(t)
	cases := []struct {
		name   string
		status []int
		tamper func(*rekorpb.TransparencyLogEntry)
		root   func(f *fakeTiles, url string) *root.TrustedRoot // default: trustedFor
		err    string
		is     error
	}{
		{name: "ok"},
		{name: "503 then ok (retried)", status: []int{503, 503}},
		{name: "409", status: []int{409}, is: ErrDuplicateV2},
		{name: "400", status: []int{400}, err: "HTTP 400"},
		{name: "another body", tamper: func(e *rekorpb.TransparencyLogEntry) {
			e.CanonicalizedBody = append([]byte(nil), e.CanonicalizedBody...)
			e.CanonicalizedBody[len(e.CanonicalizedBody)-2] ^= 1
		}, err: "not the one we proposed"},
		{name: "proof to another root", tamper: func(e *rekorpb.TransparencyLogEntry) {
			e.InclusionProof.TreeSize, e.InclusionProof.Hashes = 2, [][]byte{make([]byte, 32)}
			e.LogIndex = 1
		}, err: "does not verify"},
		{name: "no checkpoint", tamper: func(e *rekorpb.TransparencyLogEntry) { e.InclusionProof.Checkpoint = nil }, err: "no inclusion proof"},
		{name: "checkpoint signed by another key", root: func(f *fakeTiles, url string) *root.TrustedRoot {
			other := newFakeTiles(t, f.origin)
			other.logID = f.logID // same ID, other key: the signature must not verify
			return trustedFor(t, other, url)
		}, err: "does not verify"},
		{name: "origin is not the URL's host", root: func(f *fakeTiles, url string) *root.TrustedRoot {
			return trustedFor(t, f, strings.Replace(url, "127.0.0.1", "localhost", 1))
		}, err: "does not verify"},
		{name: "log not in the root", tamper: func(e *rekorpb.TransparencyLogEntry) { e.LogId.KeyId = []byte("another log") }, is: ErrUntrustedLog},
		{name: "v1 kind", tamper: func(e *rekorpb.TransparencyLogEntry) { e.KindVersion.Version = "0.0.1" }, err: "want hashedrekord 0.0.2"},
	}
	// With CheckedLater the checkpoint's signature and the proof are left to the caller's
	// check of the bundle: what only they refuse is returned; every other refusal stays.
	for _, later := range []bool{false, true} {
		for _, tc := range cases {
			if later && tc.err == "does not verify" {
				tc.err = ""
			}
			t.Run(fmt.Sprintf("%s, checked later %v", tc.name, later), func(t *testing.T) {
				f := newFakeTiles(t, "127.0.0.1")
				f.status, f.tamper = tc.status, tc.tamper
				srv := httptest.NewServer(f)
				defer srv.Close()
				tr := trustedFor(t, f, srv.URL)
				if tc.root != nil {
					tr = tc.root(f, srv.URL)
				}
				c := &RekorV2{URL: srv.URL, Trusted: tr, Sleep: func(context.Context, time.Duration) error { return nil }, CheckedLater: later}
				tle, err := c.Add(context.Background(), req)
				if tc.err == "" && tc.is == nil {
					if err != nil {
						t.Fatal(err)
					}
					if tle.GetKindVersion().GetVersion() != "0.0.2" || tle.GetInclusionProof().GetCheckpoint() == nil {
						t.Fatalf("entry %v", tle)
					}
					if want := int32(len(tc.status) + 1); f.calls.Load() != want {
						t.Fatalf("%d requests, want %d", f.calls.Load(), want)
					}
					return
				}
				if err == nil {
					t.Fatalf("accepted: %v", tle)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("error %v, want %v", err, tc.is)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q, want %q", err, tc.err)
				}
			})
		}
	}
}

// TestRekorV2NeedsTimestamp: a v2 log signs no entry time; v1 does.
func TestRekorV2NeedsTimestamp(t *testing.T) {
	var v1, v2 Log = &Rekor{}, &RekorV2{}
	if !v1.IntegratedTime() || v2.IntegratedTime() {
		t.Fatal("Rekor v1 signs integrated times, v2 does not")
	}
}
