package tsa

import (
	"crypto"
	"os/exec"
	"strings"
	"testing"
)

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "openssl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestOpenSSLVerifies: tokens for requests made by openssl and by our client verify
// with `openssl ts -verify` against the dev root, for every accepted hash.
func TestOpenSSLVerifies(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	srv := tt.server(t, ServerOptions{})
	data := writeTestFile(t, tt.path("artifact"), []byte("cachet artifact\n"))

	for _, tc := range []struct {
		name string
		make func(t *testing.T) (tsq string)
		path string
	}{
		{"openssl query sha256", func(t *testing.T) string {
			q := tt.path("o256.tsq")
			openssl(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", q)
			return q
		}, "/"},
		{"openssl query sha512", func(t *testing.T) string {
			q := tt.path("o512.tsq")
			openssl(t, "ts", "-query", "-data", data, "-sha512", "-cert", "-out", q)
			return q
		}, "/api/v1/timestamp"},
		{"openssl query no nonce no cert", func(t *testing.T) string {
			q := tt.path("onn.tsq")
			openssl(t, "ts", "-query", "-data", data, "-sha384", "-no_nonce", "-out", q)
			return q
		}, "/api/v1/timestamp"},
		{"client request", func(t *testing.T) string {
			_, der := request(t, []byte("cachet artifact\n"), crypto.SHA256, randomNonce(t), DefaultPolicy)
			return writeTestFile(t, tt.path("client.tsq"), der)
		}, "/api/v1/timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.make(t)
			der := readFile(t, q)
			resp := post(t, srv.URL+tc.path, der)
			r := writeTestFile(t, q+".tsr", resp)
			text := openssl(t, "ts", "-reply", "-in", r, "-text")
			for _, want := range []string{"Status: Granted.", "Policy OID: 1.3.6.1.4.1.57264.2", "Accuracy: 0x01 seconds"} {
				if !strings.Contains(text, want) {
					t.Errorf("openssl ts -reply -text lacks %q:\n%s", want, text)
				}
			}
			out := openssl(t, "ts", "-verify", "-data", data, "-in", r, "-CAfile", tt.path("root.pem"), "-untrusted", tt.path("chain.pem"))
			if !strings.Contains(out, "Verification: OK") {
				t.Fatalf("openssl ts -verify -data:\n%s", out)
			}
			// -queryfile also checks the nonce and the policy against the request.
			out = openssl(t, "ts", "-verify", "-queryfile", q, "-in", r, "-CAfile", tt.path("root.pem"), "-untrusted", tt.path("chain.pem"))
			if !strings.Contains(out, "Verification: OK") {
				t.Fatalf("openssl ts -verify -queryfile:\n%s", out)
			}
		})
	}
}
