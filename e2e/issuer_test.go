package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/fakegithub"
)

// TestFulcioRefusesUnlistedIssuer: a second fake issuer, mounted at /acme the way an
// enterprise-slug issuer (https://token.actions.githubusercontent.com/<slug>) is, mints
// a token that cachet verifies against that issuer's own discovery and JWKS; the stack's
// Fulcio, configured with the stack's issuer only, refuses it. cachet exits 3 (refused,
// audited, nothing written) with a message that names the issuer and the Fulcio, says
// GHES and enterprise-slug issuers need the operator to configure them, and what to do.
func TestFulcioRefusesUnlistedIssuer(t *testing.T) {
	key, err := fakegithub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	slug := fakegithub.New(srv.URL+"/acme", key)
	mux.Handle("/acme/", slug.Handler())
	tok, err := slug.Mint(fakegithub.MintOptions{})
	if err != nil {
		t.Fatal(err)
	}

	ws := t.TempDir()
	tokFile := filepath.Join(ws, "token")
	writeFile(t, tokFile, tok)
	art := filepath.Join(ws, "app.bin")
	writeFile(t, art, "never signed")
	auditLog := filepath.Join(ws, "audit.jsonl")
	args := append([]string{"sign", "--audit-log", auditLog}, stackFlags()...)
	args = append(args, "--oidc-issuer", slug.URL, "--identity-token", "@"+tokFile, art)
	r := run(t, ws, jobEnv(t, ws), cachetBin, args...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (refused)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"fulcio at " + stack["CACHET_STACK_FULCIO_URL"] + " refused the identity token of issuer " + slug.URL,
		"which verified here",
		"enterprise-slug issuers (https://token.actions.githubusercontent.com/<slug>) only when configured there",
		"does not list " + slug.URL,
		"--fulcio-url or --signing-config", "key mode (--key)",
		"There was an error processing the identity token",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("message lacks %q\nstdout: %s\nstderr: %s", want, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "::error::fulcio at ") {
		t.Errorf("no ::error:: annotation: %s", r.stdout)
	}
	// The runner masks what follows ::add-mask::; anywhere else the token would leak.
	if strings.Contains(strings.ReplaceAll(r.stdout, "::add-mask::"+tok, "")+r.stderr, tok) {
		t.Fatalf("the token was printed\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	al, err := os.ReadFile(auditLog)
	if err != nil || !strings.Contains(string(al), `"event":"codesign.keyless.refused"`) || !strings.Contains(string(al), slug.URL) {
		t.Fatalf("refusal not audited with the issuer: %s %v", al, err)
	}
	if m, _ := filepath.Glob(filepath.Join(ws, "*sigstore.json*")); len(m) > 0 {
		t.Fatalf("left behind: %v", m)
	}
}
