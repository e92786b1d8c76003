package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/swag"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/tle"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // rekor reads the body through its entry types
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/proto"
)

// testEntry is a log answer for a valid hashedrekord v0.0.1 body over a fresh key and
// certificate (rekor's entry types validate it: the PEM parses, the signature verifies).
func testEntry(t *testing.T) (models.LogEntryAnon, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der := selfSigned(t, key)
	digest := sha256.Sum256([]byte("artifact"))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	r := HashedRekord{Digest: digest[:], Signature: sig, PublicPEM: cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, der)}
	body := HashedRekordBody(r.Digest, r.Signature, r.PublicPEM)
	h := strings.Repeat("ab", 32)
	anon := models.LogEntryAnon{
		Body: base64.StdEncoding.EncodeToString(body), LogID: swag.String(strings.Repeat("0c", 32)),
		LogIndex: swag.Int64(41), IntegratedTime: swag.Int64(1_700_000_000),
		Verification: &models.LogEntryAnonVerification{
			SignedEntryTimestamp: []byte("set"),
			InclusionProof: &models.InclusionProof{LogIndex: swag.Int64(40), TreeSize: swag.Int64(42),
				RootHash: swag.String(h), Hashes: []string{h, strings.Repeat("cd", 32)}, Checkpoint: swag.String("origin - 1\n42\nq6s=\n\n")},
		},
	}
	return anon, body
}

// bundleEntry builds what rekor's tle.GenerateTransparencyLogEntry builds, field for
// field, without its second parse of the body.
func TestBundleEntryMatchesRekor(t *testing.T) {
	anon, body := testEntry(t)
	want, err := tle.GenerateTransparencyLogEntry(anon)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bundleEntry(&anon, body, "hashedrekord", false)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("bundleEntry:\n%v\nrekor:\n%v", got, want)
	}
}

func TestBundleEntryRefuses(t *testing.T) {
	for name, mod := range map[string]func(*models.LogEntryAnon, *[]byte, *string){
		"other kind": func(_ *models.LogEntryAnon, _ *[]byte, k *string) { *k = "dsse" },
		"other version": func(_ *models.LogEntryAnon, b *[]byte, _ *string) {
			*b = []byte(strings.Replace(string(*b), "0.0.1", "0.0.2", 1))
		},
		"not JSON":      func(_ *models.LogEntryAnon, b *[]byte, _ *string) { *b = []byte("{") },
		"no log index":  func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.LogIndex = nil },
		"no tree size":  func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.Verification.InclusionProof.TreeSize = nil },
		"no checkpoint": func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.Verification.InclusionProof.Checkpoint = nil },
		"bad log ID":    func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.LogID = swag.String("zz") },
		"bad root hash": func(e *models.LogEntryAnon, _ *[]byte, _ *string) {
			e.Verification.InclusionProof.RootHash = swag.String("zz")
		},
		"bad proof hash":  func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.Verification.InclusionProof.Hashes[1] = "zz" },
		"no integr. time": func(e *models.LogEntryAnon, _ *[]byte, _ *string) { e.IntegratedTime = nil },
	} {
		t.Run(name, func(t *testing.T) {
			anon, body := testEntry(t)
			kind := "hashedrekord"
			mod(&anon, &body, &kind)
			if got, err := bundleEntry(&anon, body, kind, false); err == nil {
				t.Fatalf("accepted: %v", got)
			}
		})
	}
}

// A 409 whose entry the log does not serve yet (queued, not sequenced) is fetched again
// after waits, until it is served or the waits are spent.
func TestConflictWaitsForTheEntry(t *testing.T) {
	anon, _ := testEntry(t)
	for _, tc := range []struct {
		name      string
		notFound  int // 404s before the entry is served
		wantGets  int
		wantError string
	}{
		// The served entry's body is not this request's: refused once it is fetched.
		{name: "served after two 404s", notFound: 2, wantGets: 3, wantError: "not the one we proposed"},
		{name: "never served", notFound: 100, wantGets: len(conflictWaits) + 1, wantError: "after 7 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gets int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.Method {
				case http.MethodPost:
					w.Header().Set("Location", "/api/v1/log/entries/abcd")
					w.WriteHeader(http.StatusConflict)
					w.Write([]byte(`{"code":409,"message":"an equivalent entry already exists in the transparency log"}`))
				case http.MethodGet:
					gets++
					if gets <= tc.notFound {
						w.WriteHeader(http.StatusNotFound)
						w.Write([]byte(`{"code":404,"message":"not found"}`))
						return
					}
					json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{"abcd": anon})
				}
			}))
			defer srv.Close()
			var waits []time.Duration
			c := &Rekor{URL: srv.URL, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			_, err := c.Add(context.Background(), HashedRekord{Digest: make([]byte, 32), Signature: []byte("s"), PublicPEM: []byte("k")})
			if err == nil || gets != tc.wantGets || len(waits) != tc.wantGets-1 {
				t.Fatalf("err %v, %d GETs (want %d), waits %v", err, gets, tc.wantGets, waits)
			}
			if !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("error %q", err)
			}
		})
	}
}

// create's answers other than 201 and 409: the status and the log's message, or what
// is wrong with the answer; the retries are the transport's.
func TestCreateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"server error", http.StatusServiceUnavailable, `{"code":503,"message":"trillian unavailable"}`, "503 Service Unavailable: trillian unavailable"},
		{"bad request, no message", http.StatusBadRequest, `not json`, "[POST /api/v1/log/entries] 400 Bad Request"},
		{"201, not an entry", http.StatusCreated, `[1,2]`, "the answer is not a log entry"},
		{"201, too big", http.StatusCreated, `{"a":"` + strings.Repeat("x", maxAnswer) + `"}`, "the answer is over"},
		{"409 without Location", http.StatusConflict, `{}`, "409 without the existing entry's Location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			posts := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				posts++
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := &Rekor{URL: srv.URL, Retries: 1, Sleep: func(context.Context, time.Duration) error { return nil }}
			_, err := c.Add(context.Background(), HashedRekord{Digest: make([]byte, 32), Signature: []byte("s"), PublicPEM: []byte("k")})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "create hashedrekord entry failed") {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if wantPosts := map[bool]int{true: 2, false: 1}[tc.status >= 500]; posts != wantPosts {
				t.Fatalf("%d POSTs, want %d", posts, wantPosts)
			}
		})
	}
}

// oneLog is trusted material listing one Rekor log by its hex ID.
type oneLog struct {
	root.BaseTrustedMaterial
	id string
}

func (o *oneLog) RekorLogs() map[string]*root.TransparencyLog {
	return map[string]*root.TransparencyLog{o.id: {}}
}

// Add binds the answer to the request: a logged body that is the proposal byte for
// byte is taken as it stands, one with the same fields in another order is read and
// checked, and one with another signature, digest or key is refused.
func TestAddBindsTheLoggedBody(t *testing.T) {
	anon, body := testEntry(t)
	var r HashedRekord
	var logged struct {
		Spec struct {
			Signature struct {
				Content   []byte
				PublicKey struct{ Content []byte }
			}
			Data struct{ Hash struct{ Value string } }
		}
	}
	if err := json.Unmarshal(body, &logged); err != nil {
		t.Fatal(err)
	}
	r.Signature, r.PublicPEM = logged.Spec.Signature.Content, logged.Spec.Signature.PublicKey.Content
	r.Digest, _ = hex.DecodeString(logged.Spec.Data.Hash.Value)
	reordered, err := json.Marshal(proposedHashedRekord(r)) // the kind last, as go-openapi writes it
	if err != nil {
		t.Fatal(err)
	}
	other := HashedRekordBody(r.Digest, append([]byte{1}, r.Signature...), r.PublicPEM)
	for _, tc := range []struct {
		name   string
		logged []byte
		want   string // "" accepted
	}{
		{"the proposal", body, ""},
		{"reordered", reordered, ""},
		{"another signature", other, "not the one we proposed"},
		{"another kind", bytes.Replace(reordered, []byte(`"kind":"hashedrekord"`), []byte(`"kind":"rekord"`), 1), "not the one we proposed"},
		{"another version", bytes.Replace(reordered, []byte(`"apiVersion":"0.0.1"`), []byte(`"apiVersion":"0.0.2"`), 1), "not a hashedrekord v0.0.1 entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.logged, body) != (tc.name == "the proposal") {
				t.Fatal("the case's body is not what it says")
			}
			e := anon
			e.Body = base64.StdEncoding.EncodeToString(tc.logged)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				w.WriteHeader(http.StatusCreated)
				json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{"abcd": e})
			}))
			defer srv.Close()
			c := &Rekor{URL: srv.URL, Trusted: &oneLog{id: *anon.LogID}, CheckedLater: true}
			got, err := c.Add(context.Background(), r)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && (!bytes.Equal(got.CanonicalizedBody, tc.logged) || got.KindVersion.GetKind() != "hashedrekord" || got.KindVersion.GetVersion() != "0.0.1"):
				t.Fatalf("entry %v", got)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
