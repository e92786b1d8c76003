package verify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadPolicy: the file's rules, overridden by the given ones that are named, with
// the key file read; unreadable and unparsable files are *PolicyFileError saying which
// file, and a merged policy that is unusable is ErrPolicy.
func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := write("policy.yaml", "certificate-identity: from-file\ncertificate-oidc-issuer: https://issuer\nref: refs/tags/v1\n")
	bad := write("bad.yaml", "certificate-identity: x\nno-such-rule: y\n")
	key := write("key.pub", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n")
	missing := filepath.Join(dir, "missing")
	named := func(keys ...string) func(string) bool {
		return func(k string) bool {
			for _, n := range keys {
				if n == k {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name      string
		s         PolicySources
		identity  string
		ref       string
		keyPEM    bool
		fileErr   *PolicyFileError // Key, Parsed and Path compared
		policyErr bool
	}{
		{name: "file alone", s: PolicySources{File: file}, identity: "from-file", ref: "refs/tags/v1"},
		{name: "a named rule wins", s: PolicySources{File: file, Given: &Policy{Identity: "from-flag", Ref: "ignored"}, Named: named("certificate-identity")},
			identity: "from-flag", ref: "refs/tags/v1"},
		{name: "rules alone", s: PolicySources{Given: &Policy{Identity: "i", Issuer: "u"}, Named: named("certificate-identity", "certificate-oidc-issuer")}, identity: "i"},
		{name: "key file", s: PolicySources{Key: key}, keyPEM: true},
		{name: "unreadable policy", s: PolicySources{File: missing}, fileErr: &PolicyFileError{Path: missing}},
		{name: "unparsable policy", s: PolicySources{File: bad}, fileErr: &PolicyFileError{Path: bad, Parsed: true}},
		{name: "unreadable key", s: PolicySources{Key: missing}, fileErr: &PolicyFileError{Key: true, Path: missing}},
		{name: "identity and key", s: PolicySources{File: file, Key: key}, policyErr: true},
		{name: "nothing", s: PolicySources{}, policyErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LoadPolicy(tc.s)
			var fe *PolicyFileError
			switch {
			case tc.fileErr != nil:
				if !errors.As(err, &fe) || fe.Key != tc.fileErr.Key || fe.Parsed != tc.fileErr.Parsed || fe.Path != tc.fileErr.Path || !strings.Contains(err.Error(), fe.Path) {
					t.Fatalf("err %v, want a %+v", err, tc.fileErr)
				}
			case tc.policyErr:
				if !errors.Is(err, ErrPolicy) || errors.As(err, &fe) {
					t.Fatalf("err %v, want ErrPolicy", err)
				}
			case err != nil:
				t.Fatal(err)
			case p.Identity != tc.identity || p.Ref != tc.ref || (p.KeyPEM != "") != tc.keyPEM:
				t.Fatalf("policy %+v", p)
			}
		})
	}
}
