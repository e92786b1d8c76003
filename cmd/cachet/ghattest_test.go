package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
	"github.com/cachet-sign/cachet/internal/gh"
)

const fakeToken = "ghs_attestationsTestToken0123456789"

func dsseBundle(t *testing.T, mediaType string, subject []byte) []byte {
	t.Helper()
	return fakegithubapi.DSSEBundle(mediaType, subject)
}

// newAttestationsAPI is what `cachet attest --github-attestations` builds, pointed
// at the fake through $GITHUB_API_URL (GHES paths) in a job's environment.
func newAttestationsAPI(t *testing.T, api *fakegithubapi.Server, wait time.Duration) (*gh.Client, *bytes.Buffer, *bytes.Buffer) {
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
	id, err := a.PublishAttestation(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	stored := api.Attestations()
	if len(stored) != 1 || stored[0].ID != id || id == 0 || stored[0].Repo != "octo-org/octo-repo" {
		t.Fatalf("id %d, stored %+v", id, stored)
	}
	// What is sent, and how, is internal/gh's test; here: $GITHUB_API_URL reached.
	if reqs := api.Requests(); len(reqs) != 1 || reqs[0] != "POST /api/v3/repos/octo-org/octo-repo/attestations" {
		t.Fatalf("requests: %v", reqs)
	}
	var want bytes.Buffer
	json.Compact(&want, b)
	if !strings.Contains(stdout.String(), "::add-mask::"+fakeToken) || strings.Contains(stderr.String(), fakeToken) {
		t.Fatalf("token not masked, or in the log:\nstdout %s\nstderr %s", stdout, stderr)
	}

	// The fake lists it by subject digest, as GitHub does.
	sum := sha256.Sum256([]byte("artifact"))
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Do(func() *http.Request {
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

// TestPublishAttestationWaitBound: --rate-limit-wait reaches the client and is named
// when GitHub asks for a longer wait. (Rate limits, refusals and the rest are
// internal/gh's tests.)
func TestPublishAttestationWaitBound(t *testing.T) {
	api := startFake(t)
	api.RateLimitNext(false, time.Hour)
	a, _, _ := newAttestationsAPI(t, api, 5*time.Second)
	start := time.Now()
	_, err := a.PublishAttestation(t.Context(), dsseBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte("y")))
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
