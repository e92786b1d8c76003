package tsa

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// testTSA is an authority on a fresh development chain, written to dir.
type testTSA struct {
	dev   *DevChain
	dir   string // root.pem, chain.pem, key.pem, cert.pem
	a     *Authority
	audit *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	devOnce  sync.Once
	devShare *DevChain
)

// sharedDevChain saves key generation across tests that do not care whose chain it is.
func sharedDevChain(t testing.TB) *DevChain {
	t.Helper()
	devOnce.Do(func() {
		d, err := NewDevChain(nil, time.Now())
		if err != nil {
			panic(err)
		}
		devShare = d
	})
	return devShare
}

func newTestTSA(t testing.TB, dev *DevChain, mutate func(*Config)) *testTSA {
	t.Helper()
	if dev == nil {
		dev = sharedDevChain(t)
	}
	dir := t.TempDir()
	if err := dev.Write(dir); err != nil {
		t.Fatal(err)
	}
	ser, err := OpenSerials(SerialOptions{Dir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ser.Close() })
	buf := &syncBuffer{}
	c := Config{Signer: dev.Key, Chain: dev.Chain(), Serials: ser, Audit: &audit.Logger{W: buf}}
	if mutate != nil {
		mutate(&c)
	}
	a, err := NewAuthority(c)
	if err != nil {
		t.Fatal(err)
	}
	return &testTSA{dev: dev, dir: dir, a: a, audit: buf}
}

func (tt *testTSA) path(name string) string { return filepath.Join(tt.dir, name) }

// trusted is the authority as a Sigstore trusted root lists it.
func (tt *testTSA) trusted() []root.TimestampingAuthority {
	return []root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: tt.dev.Root, Leaf: tt.dev.Leaf}}
}

func (tt *testTSA) server(t testing.TB, o ServerOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(tt.a, o))
	t.Cleanup(srv.Close)
	return srv
}

// request builds a DER TimeStampReq over data.
func request(t testing.TB, data []byte, h crypto.Hash, nonce *big.Int, policy asn1.ObjectIdentifier) (*timestamp.Request, []byte) {
	t.Helper()
	hh := h.New()
	hh.Write(data)
	req := &timestamp.Request{HashAlgorithm: h, HashedMessage: hh.Sum(nil), Nonce: nonce, Certificates: true, TSAPolicyOID: policy}
	der, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return req, der
}

func randomNonce(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func post(t testing.TB, url string, body []byte) []byte {
	t.Helper()
	resp, err := testHTTP.Post(url, "application/timestamp-query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s: %s", url, resp.Status, b.String())
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/timestamp-reply" {
		t.Fatalf("Content-Type %q", ct)
	}
	return b.Bytes()
}

func writeTestFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

// testHTTP is the tests' client: never one without a timeout.
var testHTTP = &http.Client{Timeout: 30 * time.Second}
