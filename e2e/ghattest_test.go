package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
)

// TestAttestPublishesToGitHubAttestations: cachet attest --github-attestations on the
// local stack stores the bundle it wrote in the fake GitHub attestations API (GHES
// paths through $GITHUB_API_URL, the repository from $GITHUB_REPOSITORY): exactly one
// attestation, the bundle file's JSON object as written, whose id is the
// attestation-id output; cosign and cachet verify the stored bundle. A token without
// attestations: write fails the step naming the fix, with the bundle written and
// valid; no token at all is a usage error before anything is signed.
func TestAttestPublishesToGitHubAttestations(t *testing.T) {
	api, err := fakegithubapi.Start(ghToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ws := t.TempDir()
	art := filepath.Join(ws, "app.tar.gz")
	writeFile(t, art, "published provenance subject\n")
	env := append(releaseEnv(t, ws), "GITHUB_API_URL="+api.URL+"/api/v3")
	attest := func(env []string, bundle string) result {
		return run(t, ws, env, cachetBin, append(append([]string{"attest", "--bundle", bundle, "--github-attestations"}, stackFlags()...),
			"--subject-path", art)...)
	}

	// 1. Published: one attestation, the bundle as written, its id in the outputs.
	bundle := filepath.Join(ws, "app.intoto.sigstore.json")
	r := attest(env, bundle)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "::add-mask::"+ghToken) || strings.Contains(r.stderr, ghToken) {
		t.Fatalf("GITHUB_TOKEN not masked, or in the log:\n%s\n%s", r.stdout, r.stderr)
	}
	stored := api.Attestations()
	if len(stored) != 1 || stored[0].Repo != "octo-org/octo-repo" {
		t.Fatalf("want one attestation for octo-org/octo-repo, got %+v", stored)
	}
	if reqs := api.Requests(); countPrefix(reqs, "POST /api/v3/repos/octo-org/octo-repo/attestations") != 1 {
		t.Fatalf("requests: %v", reqs)
	}
	written, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, written); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored[0].Bundle, compact.Bytes()) {
		t.Fatalf("stored bundle is not the written one:\n%s\nwritten:\n%s", stored[0].Bundle, written)
	}
	id := strconv.FormatInt(stored[0].ID, 10)
	out, _ := os.ReadFile(filepath.Join(ws, "github_output"))
	if !bytes.Contains(out, []byte("attestation-id<<_GitHubActionsFileCommandDelimeter_\n"+id+"\n")) ||
		!strings.Contains(r.stdout, "github attestation id: "+id) {
		t.Fatalf("attestation id %s not reported:\n%s\n%s", id, out, r.stdout)
	}
	fromAPI := filepath.Join(ws, "from-api.sigstore.json")
	writeFile(t, fromAPI, string(stored[0].Bundle))
	if v := cosignVerifyAttestation(t, ws, fromAPI, "slsaprovenance1", wantSAN, art); v.code != 0 {
		t.Fatalf("cosign rejected the stored bundle: %s", v.stderr)
	}
	if v := cachetVerifyAttestation(t, ws, fromAPI, art, "--type", "slsaprovenance1"); v.code != 0 {
		t.Fatalf("cachet rejected the stored bundle: %s%s", v.stdout, v.stderr)
	}

	// 2. A token without attestations: write: exit 1 naming the fix; the bundle is valid.
	api.RefuseAttestations(403, "Resource not accessible by integration")
	refused := filepath.Join(ws, "refused.intoto.sigstore.json")
	r = attest(env, refused)
	if r.code != 1 || !strings.Contains(r.stdout, "::error::bundle "+refused+" is written and valid, but not published") ||
		!strings.Contains(r.stdout, "add `permissions: attestations: write` to the job") {
		t.Fatalf("refusal: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if v := cachetVerifyAttestation(t, ws, refused, art, "--type", "slsaprovenance1"); v.code != 0 {
		t.Fatalf("the bundle left by a refused publish does not verify: %s%s", v.stdout, v.stderr)
	}
	if n := len(api.Attestations()); n != 1 {
		t.Fatalf("%d attestations stored, want still 1", n)
	}

	// 3. No token: usage error before signing, no bundle.
	var noToken []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GITHUB_TOKEN=") {
			noToken = append(noToken, kv)
		}
	}
	none := filepath.Join(ws, "none.intoto.sigstore.json")
	r = attest(noToken, none)
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "permissions: attestations: write") {
		t.Fatalf("no token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(none); err == nil {
		t.Fatal("a bundle was written without a token to publish it")
	}
}
