package e2e

import (
	"bytes"
	"encoding/json"
	"net"
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

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestRefusalsLeaveNothing: every refusal and failure exits non-zero with a message that
// names the problem, and leaves no bundle.
func TestRefusalsLeaveNothing(t *testing.T) {
	tests := []struct {
		name     string
		env      func(t *testing.T, ws string) []string
		extra    func(t *testing.T, ws string) []string
		flags    []string
		wantCode int
		wantMsg  string
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
			}, wantCode: 3, wantMsg: "permissions: id-token: write"},
		{name: "self-hosted runner",
			extra: func(t *testing.T, ws string) []string {
				return []string{"--identity-token", mintToken(t, ws, map[string]any{"runner_environment": "self-hosted"})}
			}, wantCode: 3, wantMsg: "self-hosted"},
		{name: "repository contradicts expectation", flags: []string{"--expected-repository", "octo-org/other"},
			wantCode: 3, wantMsg: "expected \"octo-org/other\""},
		{name: "ref contradicts expectation", flags: []string{"--expected-ref", "refs/tags/v1.0.0"},
			wantCode: 3, wantMsg: "refs/tags/v1.0.0"},
		{name: "token from unconfigured issuer", flags: []string{"--oidc-issuer", "https://token.actions.githubusercontent.com"},
			wantCode: 3, wantMsg: "--oidc-issuer"},
		{name: "rekor unreachable",
			extra:    func(t *testing.T, ws string) []string { return []string{"--rekor-url", closedPort(t)} },
			wantCode: 1, wantMsg: "rekor"},
		{name: "fulcio unreachable",
			extra:    func(t *testing.T, ws string) []string { return []string{"--fulcio-url", closedPort(t)} },
			wantCode: 1, wantMsg: "fulcio"},
		{name: "tsa unreachable",
			extra: func(t *testing.T, ws string) []string {
				return []string{"--timestamp-server-url", closedPort(t) + "/api/v1/timestamp"}
			},
			wantCode: 1, wantMsg: "unreachable"},
		{name: "missing artifact", flags: []string{"--artifacts", "does-not-exist.bin"}, wantCode: 2, wantMsg: "does-not-exist.bin"},
		{name: "glob matches nothing", flags: []string{"--artifacts", "*.nothing"}, wantCode: 2, wantMsg: "matches no file"},
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
			args = append(args, art)
			start := time.Now()
			r := run(t, ws, env, cachetBin, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tc.wantMsg) {
				t.Fatalf("message lacks %q:\nstdout: %s\nstderr: %s", tc.wantMsg, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "::error::") {
				t.Fatalf("no ::error:: annotation: %s", r.stdout)
			}
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
