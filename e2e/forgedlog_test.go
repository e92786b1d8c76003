package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/faultproxy"
)

// TestSignRefusesForgedLogAnswers puts a proxy in front of Rekor v1 that changes one
// signed or proven part of every entry the log returns. sign's log client leaves the
// signatures to the self-check (tlog.Rekor.CheckedLater), so this is what shows they
// are still checked before anything is written: each run fails (exit 1), names the
// failed verification, and leaves no bundle and no temporary file.
func TestSignRefusesForgedLogAnswers(t *testing.T) {
	flipB64 := func(s string) string {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 {
			t.Fatalf("not base64: %q", s)
		}
		raw[len(raw)/2] ^= 1
		return base64.StdEncoding.EncodeToString(raw)
	}
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
			ws := t.TempDir()
			forged := 0
			proxy, err := faultproxy.Start(stack["CACHET_STACK_REKOR_URL"], faultproxy.Config{
				Rewrite: func(r *http.Request, status int, body []byte) []byte {
					if r.Method != http.MethodPost || status != http.StatusCreated {
						return body
					}
					var answer map[string]map[string]any
					if err := json.Unmarshal(body, &answer); err != nil {
						t.Errorf("log answer: %v", err)
						return body
					}
					for _, e := range answer {
						forge(e)
					}
					forged++
					out, _ := json.Marshal(answer)
					return out
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			art := filepath.Join(ws, "app.bin")
			writeFile(t, art, "forged log answer "+name+"\n")
			r := run(t, ws, jobEnv(t, ws), cachetBin, "sign", "--audit-log", filepath.Join(ws, "audit.jsonl"),
				"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", proxy.URL,
				"--timestamp-server-url", stack["CACHET_STACK_TSA_URL"]+"/api/v1/timestamp",
				"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], art)
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
		})
	}
}
