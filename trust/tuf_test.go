package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/trust/tuftest"
)

// rotated returns the trusted root with its Rekor key replaced by a fresh one (and the
// log id to match) and its TSA listed twice under another URL: what a key rotation and
// a new TSA look like to a client.
func rotated(t *testing.T, tr []byte) (out []byte, newLogID string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(tr, &m); err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	tl := m["tlogs"].([]any)[0].(map[string]any)
	tl["publicKey"].(map[string]any)["rawBytes"] = base64.StdEncoding.EncodeToString(der)
	tl["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(id[:])}
	tsas := m["timestampAuthorities"].([]any)
	second := map[string]any{}
	for k, v := range tsas[0].(map[string]any) {
		second[k] = v
	}
	second["uri"] = "http://127.0.0.1:1/second-tsa"
	m["timestampAuthorities"] = append(tsas, second)
	out, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out, hex.EncodeToString(id[:])
}

// TestRefresh: a TUF refresh writes the repository's trusted root and signing config into
// the cache; a later refresh picks up a rotated Rekor key and a new TSA; expired and
// badly signed metadata are refused with a clear error and leave the last good files.
func TestRefresh(t *testing.T) {
	repo, err := tuftest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.ReadFile(vectorRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget(TrustedRootFile, tr); err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget(SigningConfigFile, stackConfig); err != nil {
		t.Fatal(err)
	}
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	var asked atomic.Int32
	files := http.FileServer(http.Dir(repo.Dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			asked.Add(1)
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	anchor, err := repo.RootJSON()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	opts := RefreshOptions{RepositoryURL: srv.URL, Root: anchor, CacheDir: cache}
	m, err := Refresh(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Refreshed || len(m.TrustedRoot.TimestampingAuthorities()) != 1 || len(m.SigningConfig.TimestampAuthorityURLs()) != 0 {
		t.Fatal("first refresh: unexpected content")
	}
	cached := func() *Material {
		t.Helper()
		m, err := ReadFile(filepath.Join(cache, TrustedRootFile))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ReadFile(filepath.Join(cache, SigningConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		m.SigningConfig = s.SigningConfig
		return m
	}
	if _, ok := cached().TrustedRoot.RekorLogs()[hex.EncodeToString(mustLogID(t, tr))]; !ok {
		t.Fatal("cached trusted root lacks the Rekor log")
	}

	// Rotation: a new Rekor key and a second TSA, in the trusted root and the signing config.
	tr2, newID := rotated(t, tr)
	sc2 := []byte(strings.Replace(string(stackConfig), `"tsaUrls": []`,
		`"tsaUrls": [{"url": "http://127.0.0.1:1/second-tsa", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "second"}]`, 1))
	if err := repo.SetTarget(TrustedRootFile, tr2); err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget(SigningConfigFile, sc2); err != nil {
		t.Fatal(err)
	}
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	if _, err := Refresh(opts); err != nil {
		t.Fatal(err)
	}
	got := cached()
	if _, ok := got.TrustedRoot.RekorLogs()[newID]; !ok || len(got.TrustedRoot.RekorLogs()) != 1 {
		t.Fatal("refresh did not pick up the rotated Rekor key")
	}
	if len(got.TrustedRoot.TimestampingAuthorities()) != 2 || len(got.SigningConfig.TimestampAuthorityURLs()) != 1 {
		t.Fatal("refresh did not pick up the new TSA")
	}

	// A valid cache is used without asking: the server is never consulted (it
	// answers 500 to everything now).
	before := tree(t, cache)
	down.Store(true)
	got2, err := Load(opts)
	if err != nil || got2.Refreshed || asked.Load() > 0 {
		t.Fatalf("Load on a valid cache: %v (refreshed %v, %d requests)", err, got2 != nil && got2.Refreshed, asked.Load())
	}
	if _, ok := got2.TrustedRoot.RekorLogs()[newID]; !ok || got2.Expires.Before(time.Now()) {
		t.Fatalf("cached material: not the refreshed one, or expiry %s", got2.Expires)
	}
	if _, err := Refresh(opts); !errors.Is(err, ErrTUFUnreachable) {
		t.Fatalf("refresh against a 500: %v, want ErrTUFUnreachable", err)
	}
	if !sameTree(before, tree(t, cache)) {
		t.Fatal("an unreachable repository changed the cache")
	}
	down.Store(false)

	// Refusals keep the cache exactly as it was.
	trBad, _ := rotated(t, tr)
	for _, tc := range []struct {
		name    string
		publish func() error
		want    string
	}{
		{"expired", repo.PublishExpired, "metadata expired"},
		{"badly signed", repo.PublishBadlySigned, "not signed by the keys the TUF root trusts"},
		{"rollback", func() error {
			// Two good versions; the cache trusts the second; the first is served again.
			for range 2 {
				if err := repo.Publish(); err != nil {
					return err
				}
			}
			if _, err := Refresh(opts); err != nil { // the cache now trusts this version
				return err
			}
			return repo.RollBack()
		}, "rollback"},
	} {
		if err := repo.SetTarget(TrustedRootFile, trBad); err != nil {
			t.Fatal(err)
		}
		if err := tc.publish(); err != nil {
			t.Fatal(err)
		}
		before := tree(t, cache)
		_, err := Refresh(opts)
		if !errors.Is(err, ErrTUFRefused) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was cached") {
			t.Fatalf("%s: %v, want ErrTUFRefused saying %q", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
		if !sameTree(before, tree(t, cache)) {
			t.Fatalf("%s: a refused refresh changed the cache", tc.name)
		}
		// Load refuses too once the cache is not enough (a refresh is forced by
		// expiring nothing here, so Load uses the cache: it must still be the old one).
		if m, err := Load(opts); err != nil || m.Refreshed {
			t.Fatalf("%s: Load after a refused refresh: %v", tc.name, err)
		}
	}

	// A wrong TUF root: nothing of the repository verifies, and nothing is written.
	other, err := tuftest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, _ := other.RootJSON()
	empty := filepath.Join(t.TempDir(), "cache")
	if _, err := Load(RefreshOptions{RepositoryURL: srv.URL, Root: otherRoot, CacheDir: empty}); !errors.Is(err, ErrTUFRefused) {
		t.Fatalf("loaded with another repository's root: %v", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused load left %s behind: %v", empty, tree(t, empty))
	}
}

// TestLoadRefreshesExpiredCache: a cache whose timestamp metadata has expired is not
// used: Load refreshes it, and a repository serving only expired metadata is refused.
func TestLoadRefreshesExpiredCache(t *testing.T) {
	repo, err := tuftest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.ReadFile(vectorRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetTarget(TrustedRootFile, tr); err != nil {
		t.Fatal(err)
	}
	// The first timestamp the client sees expires in two seconds.
	repo.Timestamp.Signed.Expires = time.Now().Add(2 * time.Second)
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
	t.Cleanup(srv.Close)
	anchor, _ := repo.RootJSON()
	opts := RefreshOptions{RepositoryURL: srv.URL, Root: anchor, CacheDir: t.TempDir()}
	first, err := Load(opts)
	if err != nil || !first.Refreshed || time.Until(first.Expires) > 3*time.Second {
		t.Fatalf("first load: %v %+v", err, first)
	}
	if again, err := Load(opts); err != nil || again.Refreshed {
		t.Fatalf("load within the timestamp's validity: %v, refreshed %v", err, again != nil && again.Refreshed)
	}
	// The wait is the thing tested: go-tuf (through sigstore-go's tuf.Client, which
	// takes no clock) checks expiry against the wall clock.
	time.Sleep(time.Until(first.Expires) + 100*time.Millisecond)
	// The repository still serves the expired timestamp: refused, not used.
	if _, err := Load(opts); !errors.Is(err, ErrTUFRefused) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("load with only expired metadata: %v", err)
	}
	repo.Timestamp.Signed.Expires = time.Now().AddDate(0, 0, 7)
	if err := repo.Publish(); err != nil {
		t.Fatal(err)
	}
	next, err := Load(opts)
	if err != nil || !next.Refreshed || time.Until(next.Expires) < 6*24*time.Hour {
		t.Fatalf("load after the repository re-signed: %v %+v", err, next)
	}
}

// tree maps every file under dir to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return nil
	})
	return m
}

func sameTree(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustLogID(t *testing.T, tr []byte) []byte {
	t.Helper()
	var m struct {
		Tlogs []struct {
			LogID struct {
				KeyID []byte `json:"keyId"`
			} `json:"logId"`
		} `json:"tlogs"`
	}
	if err := json.Unmarshal(tr, &m); err != nil || len(m.Tlogs) == 0 {
		t.Fatal("trusted root without a tlog", err)
	}
	return m.Tlogs[0].LogID.KeyID
}

func TestRefreshOptionsRepository(t *testing.T) {
	if got := (RefreshOptions{}).Repository(); got != PublicGoodRepository {
		t.Errorf("the zero options name %q, want %s", got, PublicGoodRepository)
	}
	if got := (RefreshOptions{RepositoryURL: "https://tuf.example.com"}).Repository(); got != "https://tuf.example.com" {
		t.Errorf("Repository() = %q", got)
	}
}
