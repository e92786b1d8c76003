package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
)

const fakeToken = "ghs_attestationsTestToken0123456789"

// dsseBundle is a bundle shaped like cachet attest's (protojson spacing included):
// the fake checks shape, not signatures, and the e2e test sends real ones.
func dsseBundle(t *testing.T, mediaType string, subject []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(subject)
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app.tar.gz", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{},
	})
	return []byte(`{"mediaType":  "` + mediaType + `", "verificationMaterial":{"certificate":{"rawBytes":"MAo="}},
 "dsseEnvelope": {"payload":"` + base64.StdEncoding.EncodeToString(stmt) + `","payloadType":"application/vnd.in-toto+json",
 "signatures":[{"sig":"MEUCIQ=="}]}}`)
}

// newAttestationsAPI is what `cachet attest --github-attestations` builds, pointed
// at the fake through $GITHUB_API_URL (GHES paths) in a job's environment.
func newAttestationsAPI(t *testing.T, api *fakegithubapi.Server, wait time.Duration) (*attestationsAPI, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	vars := map[string]string{"GITHUB_TOKEN": fakeToken, "GITHUB_REPOSITORY": "octo-org/octo-repo",
		"GITHUB_API_URL": api.URL + "/api/v3", "GITHUB_ACTIONS": "true"}
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errb}
	f := ghAttestFlags{enabled: true, rateWait: wait}
	a, err := f.target(e)
	if err != nil {
		t.Fatal(err)
	}
	return a, &out, &errb
}

func startFake(t *testing.T) *fakegithubapi.Server {
	t.Helper()
	api, err := fakegithubapi.Start(fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

func TestPublishAttestation(t *testing.T) {
	api := startFake(t)
	a, stdout, stderr := newAttestationsAPI(t, api, time.Minute)
	b := dsseBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte("artifact"))
	id, err := a.publish(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	stored := api.Attestations()
	if len(stored) != 1 || stored[0].ID != id || id == 0 || stored[0].Repo != "octo-org/octo-repo" {
		t.Fatalf("id %d, stored %+v", id, stored)
	}
	// Sent as written, up to JSON whitespace (encoding/json compacts a RawMessage).
	var want bytes.Buffer
	json.Compact(&want, b)
	if !bytes.Equal(stored[0].Bundle, want.Bytes()) {
		t.Fatalf("stored bundle differs:\n%s\nwant\n%s", stored[0].Bundle, want.Bytes())
	}
	if reqs := api.Requests(); len(reqs) != 1 || reqs[0] != "POST /api/v3/repos/octo-org/octo-repo/attestations" {
		t.Fatalf("requests: %v", reqs)
	}
	if !strings.Contains(stdout.String(), "::add-mask::"+fakeToken) || strings.Contains(stderr.String(), fakeToken) {
		t.Fatalf("token not masked, or in the log:\nstdout %s\nstderr %s", stdout, stderr)
	}

	// The fake lists it by subject digest, as GitHub does.
	sum := sha256.Sum256([]byte("artifact"))
	resp, err := http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest("GET", api.URL+"/repos/octo-org/octo-repo/attestations/sha256:"+hex.EncodeToString(sum[:]), nil)
		r.Header.Set("Authorization", "Bearer "+fakeToken)
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Attestations []struct {
			Bundle       json.RawMessage `json:"bundle"`
			RepositoryID int64           `json:"repository_id"`
		} `json:"attestations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Attestations) != 1 ||
		!bytes.Equal(list.Attestations[0].Bundle, want.Bytes()) || list.Attestations[0].RepositoryID == 0 {
		t.Fatalf("list: %v %+v", err, list)
	}
}

// TestPublishAttestationRefused: each refusal names its fix, keeps GitHub's message,
// and never carries the token.
func TestPublishAttestationRefused(t *testing.T) {
	b := dsseBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte("x"))
	for _, tc := range []struct {
		name    string
		code    int
		message string
		bundle  []byte
		want    []string
	}{
		{"no attestations: write", 403, "Resource not accessible by integration", b,
			[]string{"the token lacks `attestations: write`", "add `permissions: attestations: write` to the job", "`contents: write` is not enough", "403 Resource not accessible by integration"}},
		{"repository not visible", 404, "Not Found", b,
			[]string{"the token lacks `attestations: write`", "check the name", "404 Not Found"}},
		{"plan", 403, "Feature not available for user-owned private repositories. To enable this feature, please make this repository public.", b,
			[]string{"GitHub does not offer attestations for this repository", "Feature not available"}},
		{"invalid bundle", 0, "", dsseBundle(t, "application/vnd.dev.sigstore.bundle+json;version=0.1", []byte("x")),
			[]string{"GitHub refused the bundle: ", "422 Validation Failed: unsupported bundle media type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := startFake(t)
			api.RefuseAttestations(tc.code, tc.message)
			a, _, stderr := newAttestationsAPI(t, api, time.Minute)
			_, err := a.publish(t.Context(), tc.bundle)
			if err == nil {
				t.Fatal("published")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error()+stderr.String(), fakeToken) {
				t.Fatal("the token is in the error or the log")
			}
			if n := len(api.Attestations()); n != 0 {
				t.Fatalf("%d stored", n)
			}
			if n := len(api.Requests()); n != 1 {
				t.Fatalf("%d requests: a refusal is not retried", n)
			}
		})
	}
}

// TestPublishSignatureBundleRefused: a message-signature bundle (cachet sign's) is not
// an attestation; it is refused before any request.
func TestPublishSignatureBundleRefused(t *testing.T) {
	api := startFake(t)
	a, _, _ := newAttestationsAPI(t, api, time.Minute)
	sig := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"messageSignature":{"signature":"MEUCIQ=="}}`)
	if _, err := a.publish(t.Context(), sig); !errors.Is(err, ErrNotAttestation) {
		t.Fatalf("want ErrNotAttestation, got %v", err)
	}
	if reqs := api.Requests(); len(reqs) != 0 {
		t.Fatalf("requests sent: %v", reqs)
	}
}

// TestPublishAttestationRateLimits: a primary (403, x-ratelimit-remaining: 0) and a
// secondary (429, Retry-After) rate limit are waited out; one longer than
// --rate-limit-wait fails at once, saying so.
func TestPublishAttestationRateLimits(t *testing.T) {
	api := startFake(t)
	api.RateLimitNext(false, time.Second)
	api.RateLimitNext(true, time.Second)
	a, _, stderr := newAttestationsAPI(t, api, 30*time.Second)
	b := dsseBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte("y"))
	if _, err := a.publish(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "primary rate limit; retrying") || !strings.Contains(stderr.String(), "rate limited (429); retrying") {
		t.Fatalf("rate limits not waited out:\n%s", stderr)
	}
	if n := len(api.Attestations()); n != 1 {
		t.Fatalf("%d stored, want 1", n)
	}

	api.RateLimitNext(false, time.Hour)
	a, _, _ = newAttestationsAPI(t, api, 5*time.Second)
	start := time.Now()
	_, err := a.publish(t.Context(), b)
	if err == nil || !strings.Contains(err.Error(), "longer than --rate-limit-wait 5s") || time.Since(start) > 5*time.Second {
		t.Fatalf("want an immediate rate-limit failure, got %v after %s", err, time.Since(start))
	}
}

func TestGitHubAttestationsNeedToken(t *testing.T) {
	vars := map[string]string{"GITHUB_REPOSITORY": "octo-org/octo-repo"}
	e := &env{getenv: func(k string) string { return vars[k] }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	f := ghAttestFlags{enabled: true}
	_, err := f.target(e)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "permissions: attestations: write") {
		t.Fatalf("want a usage error naming attestations: write, got %v", err)
	}
	if a, err := (&ghAttestFlags{}).target(e); a != nil || err != nil {
		t.Fatalf("disabled: %v %v", a, err)
	}
}
