package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wantSAN = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readNonEmpty returns the file at path, failing the test when it cannot be read
// or is empty: a comparison of two unreadable files (nil with nil) proves nothing.
func readNonEmpty(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return b
}

type bundleJSON struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		Certificate struct {
			RawBytes string `json:"rawBytes"`
		} `json:"certificate"`
		TlogEntries []struct {
			KindVersion    struct{ Kind, Version string } `json:"kindVersion"`
			IntegratedTime string                         `json:"integratedTime"`
			InclusionProof *struct {
				Checkpoint struct{ Envelope string } `json:"checkpoint"`
			} `json:"inclusionProof"`
			InclusionPromise *json.RawMessage `json:"inclusionPromise"`
		} `json:"tlogEntries"`
		TimestampVerificationData struct {
			Rfc3161Timestamps []struct {
				SignedTimestamp string `json:"signedTimestamp"`
			} `json:"rfc3161Timestamps"`
		} `json:"timestampVerificationData"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		Signature string `json:"signature"`
	} `json:"messageSignature"`
}

func readBundle(t *testing.T, path string) bundleJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	var bj bundleJSON
	if err := json.Unmarshal(b, &bj); err != nil {
		t.Fatalf("bundle %s: %v", path, err)
	}
	return bj
}

// TestSignThenCosignVerifies is the product in one test: a GitHub job signs a file on
// the local stack; cosign accepts the bundle for the exact identity and issuer, and
// rejects a changed artifact, another identity and another issuer.
func TestSignThenCosignVerifies(t *testing.T) {
	ws := t.TempDir()
	art := filepath.Join(ws, "app.tar.gz")
	writeFile(t, art, "release payload\n")
	auditLog := filepath.Join(ws, "audit.jsonl")
	start := time.Now()
	r := run(t, ws, jobEnv(t, ws), cachetBin, append([]string{"sign", "--audit-log", auditLog}, append(stackFlags(), art)...)...)
	t.Logf("cachet sign took %s", time.Since(start).Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("cachet sign exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	bundle := art + ".sigstore.json"
	bj := readBundle(t, bundle)
	if bj.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" || bj.MessageSignature == nil ||
		len(bj.VerificationMaterial.TlogEntries) != 1 || bj.VerificationMaterial.TlogEntries[0].InclusionProof == nil ||
		bj.VerificationMaterial.TlogEntries[0].InclusionPromise == nil ||
		len(bj.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps) != 1 {
		t.Fatalf("bundle lacks a part: %+v", bj)
	}
	// The token was masked before anything else was printed, and never printed bare.
	if !strings.Contains(r.stdout, "::add-mask::") {
		t.Fatalf("token not masked: %s", r.stdout)
	}
	out, _ := os.ReadFile(filepath.Join(ws, "github_output"))
	for _, want := range []string{"certificate-identity", wantSAN, "bundle-paths", bundle, "verify-command", "log-index"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("GITHUB_OUTPUT lacks %q:\n%s", want, out)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(ws, "step_summary"))
	if !bytes.Contains(sum, []byte("cachet sign: 1 signed, 0 failed")) || !bytes.Contains(sum, []byte("cosign verify-blob --bundle")) {
		t.Fatalf("job summary: %s", sum)
	}
	al, _ := os.ReadFile(auditLog)
	if !bytes.Contains(al, []byte(`"event":"codesign.keyless.signed"`)) || !bytes.Contains(al, []byte(`"san":"`+wantSAN)) ||
		!bytes.Contains(al, []byte(`"log_index":`)) || !bytes.Contains(al, []byte(`"digest":"sha256:`)) {
		t.Fatalf("audit log: %s", al)
	}

	iss := stack["CACHET_STACK_OIDC_ISSUER"]
	if v := cosignVerify(t, ws, bundle, wantSAN, iss, art); v.code != 0 {
		t.Fatalf("cosign rejected cachet's bundle: %s%s", v.stdout, v.stderr)
	}
	changed := filepath.Join(ws, "changed")
	writeFile(t, changed, "release payload!\n")
	bad := []struct{ name, identity, issuer, artifact string }{
		{"changed artifact", wantSAN, iss, changed},
		{"wrong identity", "https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main", iss, art},
		{"wrong issuer", wantSAN, "https://token.actions.githubusercontent.com", art},
	}
	for _, b := range bad {
		if v := cosignVerify(t, ws, bundle, b.identity, b.issuer, b.artifact); v.code == 0 {
			t.Errorf("%s: cosign accepted it", b.name)
		}
	}
}

// TestManyArtifactsShareOneCertificate: one call, one Fulcio certificate, a bundle per
// artifact, each verifiable on its own.
func TestManyArtifactsShareOneCertificate(t *testing.T) {
	ws := t.TempDir()
	out := filepath.Join(ws, "bundles")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var arts []string
	for _, n := range []string{"a.bin", "b.bin", "c.bin"} {
		p := filepath.Join(ws, n)
		writeFile(t, p, "content of "+n)
		arts = append(arts, p)
	}
	args := append([]string{"sign", "--output-dir", out}, stackFlags()...)
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(args, filepath.Join(ws, "*.bin"))...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var cert string
	for _, a := range arts {
		b := filepath.Join(out, filepath.Base(a)+".sigstore.json")
		bj := readBundle(t, b)
		if cert == "" {
			cert = bj.VerificationMaterial.Certificate.RawBytes
		} else if cert != bj.VerificationMaterial.Certificate.RawBytes {
			t.Fatal("artifacts got different certificates")
		}
		if v := cosignVerify(t, ws, b, wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], a); v.code != 0 {
			t.Fatalf("cosign rejected %s: %s", b, v.stderr)
		}
	}
}

// mintToken asks the fake issuer for a token with claim overrides.
func mintToken(t *testing.T, dir string, claims map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"claims": claims})
	resp, err := testHTTP.Post(stack["CACHET_STACK_OIDC_ISSUER"]+"/_fake/mint", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Value == "" {
		t.Fatalf("mint: %v", err)
	}
	p := filepath.Join(dir, "token")
	writeFile(t, p, v.Value)
	return "@" + p
}

// TestRefusalsLeaveNothing: every refusal and failure exits non-zero with a message that
// names the problem, and leaves no bundle.
func TestRefusalsLeaveNothing(t *testing.T) {
	tests := []struct {
		name  string
		env   func(t *testing.T, ws string) []string
		extra func(t *testing.T, ws string) []string
		flags []string
		// unreachable names a flag set to a URL that refuses connections (refusingURL,
		// with urlSuffix appended); URL in wantMsg stands for that URL.
		unreachable, urlSuffix string
		wantCode               int
		wantMsg                []string
	}{
		{name: "no id-token permission",
			env: func(t *testing.T, ws string) []string {
				var e []string
				for _, kv := range jobEnv(t, ws) {
					if !strings.HasPrefix(kv, "ACTIONS_ID_TOKEN_REQUEST_") {
						e = append(e, kv)
					}
				}
				return e
			}, wantCode: 3, wantMsg: []string{"no OIDC token", "add `permissions: id-token: write` to the job"}},
		{name: "self-hosted runner",
			extra: func(t *testing.T, ws string) []string {
				return []string{"--identity-token", mintToken(t, ws, map[string]any{"runner_environment": "self-hosted"})}
			}, wantCode: 3, wantMsg: []string{`refused: runner_environment is "self-hosted"`, "unless allow-self-hosted is set"}},
		{name: "repository contradicts expectation", flags: []string{"--expected-repository", "octo-org/other"},
			wantCode: 3, wantMsg: []string{`refused: repository is "octo-org/octo-repo", expected "octo-org/other"`}},
		{name: "ref contradicts expectation", flags: []string{"--expected-ref", "refs/tags/v1.0.0"},
			wantCode: 3, wantMsg: []string{`refused: ref is "refs/heads/main", expected "refs/tags/v1.0.0"`}},
		{name: "token from unconfigured issuer", flags: []string{"--oidc-issuer", "https://token.actions.githubusercontent.com"},
			wantCode: 3, wantMsg: []string{`configured "https://token.actions.githubusercontent.com"; set --oidc-issuer to the job's issuer`}},
		// The service, its URL and the cause, not the retry wording (which may change).
		{name: "rekor unreachable", unreachable: "--rekor-url",
			wantCode: 1, wantMsg: []string{"rekor at URL: ", `"URL/api/v1/log/entries"`, "connect: connection refused"}},
		{name: "fulcio unreachable", unreachable: "--fulcio-url",
			wantCode: 1, wantMsg: []string{"fulcio at URL unreachable", `"URL/api/v2/signingCert"`, "connect: connection refused"}},
		{name: "tsa unreachable", unreachable: "--timestamp-server-url", urlSuffix: "/api/v1/timestamp",
			wantCode: 1, wantMsg: []string{"URL: unreachable", "connect: connection refused"}},
		{name: "missing artifact", flags: []string{"--artifacts", "does-not-exist.bin"}, wantCode: 2, wantMsg: []string{"artifact does-not-exist.bin: no such file or directory"}},
		{name: "glob matches nothing", flags: []string{"--artifacts", "*.nothing"}, wantCode: 2, wantMsg: []string{`glob "*.nothing" matches no file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := t.TempDir()
			art := filepath.Join(ws, "app.bin")
			writeFile(t, art, "payload")
			env := jobEnv(t, ws)
			if tc.env != nil {
				env = tc.env(t, ws)
			}
			auditLog := filepath.Join(ws, "audit.jsonl")
			args := append([]string{"sign", "--audit-log", auditLog}, stackFlags()...)
			args = append(args, tc.flags...)
			if tc.extra != nil {
				args = append(args, tc.extra(t, ws)...)
			}
			url := ""
			if tc.unreachable != "" {
				url = refusingURL(t) + tc.urlSuffix
				args = append(args, tc.unreachable, url)
			}
			args = append(args, art)
			start := time.Now()
			r := run(t, ws, env, cachetBin, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, m := range tc.wantMsg {
				if m = strings.ReplaceAll(m, "URL", url); !strings.Contains(r.stdout+r.stderr, m) {
					t.Fatalf("message lacks %q:\nstdout: %s\nstderr: %s", m, r.stdout, r.stderr)
				}
			}
			if !strings.Contains(r.stdout, "::error::") {
				t.Fatalf("no ::error:: annotation: %s", r.stdout)
			}
			// Wall time is the property here: retries must end in bounded time (the
			// unreachable cases take 1-3 s), not a synchronisation.
			if time.Since(start) > 60*time.Second {
				t.Fatalf("took %s: retries are not bounded", time.Since(start))
			}
			matches, _ := filepath.Glob(filepath.Join(ws, "*sigstore.json*"))
			hidden, _ := filepath.Glob(filepath.Join(ws, ".*tmp*"))
			if len(matches)+len(hidden) > 0 {
				t.Fatalf("left behind: %v %v", matches, hidden)
			}
			if tc.wantCode == 3 {
				al, _ := os.ReadFile(auditLog)
				if !bytes.Contains(al, []byte(`"event":"codesign.keyless.refused"`)) {
					t.Fatalf("refusal not audited: %s", al)
				}
			}
		})
	}
}
