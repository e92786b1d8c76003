package verify

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// FuzzParseBundle: arbitrary bytes never panic, and every error carries a reason.
func FuzzParseBundle(f *testing.F) {
	for _, n := range []string{"artifact.txt.cachet.sigstore.json", "artifact.txt.cosign.sigstore.json"} {
		b, err := os.ReadFile(filepath.Join("../testdata/verify", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseBundle(data)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Reason != ReasonBundle) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// FuzzParsePolicy: no panic; errors are ErrPolicy; an accepted policy validates and is
// never empty.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("certificate-identity: x\ncertificate-oidc-issuer: y\n"))
	f.Add([]byte(`{"certificate-identity-regexp":"^a$","certificate-oidc-issuer-regexp":"^b$"}`))
	f.Add([]byte("key: |\n  -----BEGIN PUBLIC KEY-----\n"))
	f.Add([]byte("- a\n- b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrPolicy) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if p.Validate() != nil {
			t.Fatal("accepted an invalid policy")
		}
		if p.KeyPEM == "" && (p.Identity == "" && p.IdentityRegexp == "") {
			t.Fatal("accepted a policy without identity or key")
		}
	})
}

// FuzzAnchored: a pattern anchored accepts matches only whole strings, so matching it
// is the same as matching ^(?:pattern)$.
func FuzzAnchored(f *testing.F) {
	for _, p := range []string{`^a$|.*`, `^https://github\.com/o/r/.*v.*|@refs/heads/main$`, `^a$|^b$`, `^(?:a|b)$`, `(?m)^a$`, `\Aa\z`, `^x\$`, `^(a|b)c$`} {
		f.Add(p, "a\nb")
		f.Add(p, "xa")
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !anchored(pattern) {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("anchored accepted an invalid pattern %q", pattern)
		}
		if re.MatchString(s) && !regexp.MustCompile(`^(?:`+pattern+`)$`).MatchString(s) {
			t.Fatalf("anchored pattern %q matches %q, which ^(?:pattern)$ does not", pattern, s)
		}
	})
}
