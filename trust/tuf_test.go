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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
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
	if len(m.TrustedRoot.TimestampingAuthorities()) != 1 || len(m.SigningConfig.TimestampAuthorityURLs()) != 0 {
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

	// Refusals keep the last good files.
	good, err := os.ReadFile(filepath.Join(cache, TrustedRootFile))
	if err != nil {
		t.Fatal(err)
	}
	trBad, _ := rotated(t, tr)
	for _, tc := range []struct {
		name    string
		publish func() error
		want    string
	}{
		{"expired", repo.PublishExpired, "metadata expired"},
		{"badly signed", repo.PublishBadlySigned, "not signed by the keys the TUF root trusts"},
	} {
		if err := repo.SetTarget(TrustedRootFile, trBad); err != nil {
			t.Fatal(err)
		}
		if err := tc.publish(); err != nil {
			t.Fatal(err)
		}
		_, err := Refresh(opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
		now, _ := os.ReadFile(filepath.Join(cache, TrustedRootFile))
		if string(now) != string(good) {
			t.Fatalf("%s: a refused refresh changed the cached trusted root", tc.name)
		}
	}

	// A wrong TUF root: nothing of the repository verifies.
	other, err := tuftest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, _ := other.RootJSON()
	if _, err := Refresh(RefreshOptions{RepositoryURL: srv.URL, Root: otherRoot, CacheDir: t.TempDir()}); err == nil {
		t.Fatal("refreshed with another repository's root")
	}
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
