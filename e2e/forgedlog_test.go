package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/faultproxy"
)

// flipMiddle changes one bit in the middle of the base64 string s.
func flipMiddle(t *testing.T, s string) string {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		t.Fatalf("not base64: %q", s)
	}
	raw[len(raw)/2] ^= 1
	return base64.StdEncoding.EncodeToString(raw)
}

// TestSignRefusesForgedLogAnswers puts a proxy in front of Rekor v1 that changes one
// signed or proven part of every entry the log returns. sign's log client leaves the
// signatures to the self-check (tlog.Rekor.CheckedLater), so this is what shows they
// are still checked before anything is written: each run fails (exit 1), names the
// failed verification, and leaves no bundle and no temporary file.
func TestSignRefusesForgedLogAnswers(t *testing.T) {
	flipB64 := func(s string) string { return flipMiddle(t, s) }
	flipHex := func(s string) string {
		b := []byte(s)
		if b[0] == '0' {
			b[0] = '1'
		} else {
			b[0] = '0'
		}
		return string(b)
	}
	for name, forge := range map[string]func(e map[string]any){
		"SET": func(e map[string]any) {
			v := e["verification"].(map[string]any)
			v["signedEntryTimestamp"] = flipB64(v["signedEntryTimestamp"].(string))
		},
		"integrated time": func(e map[string]any) { e["integratedTime"] = e["integratedTime"].(float64) - 1 },
		"root hash": func(e map[string]any) {
			ip := e["verification"].(map[string]any)["inclusionProof"].(map[string]any)
			ip["rootHash"] = flipHex(ip["rootHash"].(string))
		},
		"checkpoint signature": func(e map[string]any) {
			ip := e["verification"].(map[string]any)["inclusionProof"].(map[string]any)
			cp := ip["checkpoint"].(string)
			i := strings.LastIndex(strings.TrimSuffix(cp, "\n"), " ")
			ip["checkpoint"] = cp[:i+1] + flipB64(strings.TrimSuffix(cp[i+1:], "\n")) + "\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			signThroughForgedLog(t, name, stack["CACHET_STACK_REKOR_URL"], nil, func(body []byte) []byte {
				var answer map[string]map[string]any
				if err := json.Unmarshal(body, &answer); err != nil {
					t.Errorf("log answer: %v", err)
					return body
				}
				for _, e := range answer {
					forge(e)
				}
				out, _ := json.Marshal(answer)
				return out
			})
		})
	}
}

// TestSignRefusesForgedLogAnswersV2 is the same for Rekor v2, whose client leaves the
// checkpoint's signature and the inclusion proof to the self-check too
// (tlog.RekorV2.CheckedLater).
func TestSignRefusesForgedLogAnswersV2(t *testing.T) {
	flipB64 := func(s string) string { return flipMiddle(t, s) }
	for name, forge := range map[string]func(e map[string]any){
		"checkpoint signature": func(e map[string]any) {
			cp := e["inclusionProof"].(map[string]any)["checkpoint"].(map[string]any)
			s := cp["envelope"].(string)
			i := strings.LastIndex(strings.TrimSuffix(s, "\n"), " ")
			cp["envelope"] = s[:i+1] + flipB64(strings.TrimSuffix(s[i+1:], "\n")) + "\n"
		},
		"proof hash": func(e map[string]any) {
			ip := e["inclusionProof"].(map[string]any)
			if h, _ := ip["hashes"].([]any); len(h) > 0 {
				h[0] = flipB64(h[0].(string))
			} else { // a one-entry tree: no hashes, the root is the leaf
				ip["hashes"] = []any{ip["rootHash"]}
			}
		},
		"log index": func(e map[string]any) {
			n, _ := strconv.ParseInt(e["logIndex"].(string), 10, 64)
			e["logIndex"] = strconv.FormatInt(n+1, 10)
		},
	} {
		t.Run(name, func(t *testing.T) {
			signThroughForgedLog(t, name, stack["CACHET_STACK_REKOR_V2_URL"], []string{"--rekor-api-version", "2"}, func(body []byte) []byte {
				var e map[string]any
				if err := json.Unmarshal(body, &e); err != nil {
					t.Errorf("log answer: %v", err)
					return body
				}
				forge(e)
				out, _ := json.Marshal(e)
				return out
			})
		})
	}
}

// signThroughForgedLog signs one artifact through a proxy in front of the log at
// logURL that rewrites every created entry with forge, and checks the run fails on its
// self-check and leaves nothing behind.
func signThroughForgedLog(t *testing.T, name, logURL string, args []string, forge func([]byte) []byte) {
	ws := t.TempDir()
	forged := 0
	proxy, err := faultproxy.Start(logURL, faultproxy.Config{
		Rewrite: func(r *http.Request, status int, body []byte) []byte {
			if r.Method != http.MethodPost || status != http.StatusCreated {
				return body
			}
			forged++
			return forge(body)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	art := filepath.Join(ws, "app.bin")
	writeFile(t, art, "forged log answer "+name+"\n")
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"sign", "--audit-log", filepath.Join(ws, "audit.jsonl"),
		"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", proxy.URL,
		"--timestamp-server-url", stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp",
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"]}, args...), art)...)
	if r.code != 1 || forged == 0 || !strings.Contains(r.stderr, "the finished bundle does not verify, not writing it") {
		t.Fatalf("exit %d, %d answers forged, want 1 and a refused self-check\nstdout: %s\nstderr: %s", r.code, forged, r.stdout, r.stderr)
	}
	entries, _ := os.ReadDir(ws)
	for _, e := range entries {
		if strings.Contains(e.Name(), "sigstore.json") || strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
	t.Logf("%s: %s", name, strings.TrimSpace(r.stderr))
}
