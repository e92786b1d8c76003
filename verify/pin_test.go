package verify

import (
	"errors"
	"regexp"
	"testing"
)

// TestPolicyFor: the policy pinned for the test vector's bundle names its identity,
// issuer and repository id; with anyRef the identity is a regexp for any ref of the
// same workflow, and the policy still accepts the bundle's own identity.
func TestPolicyFor(t *testing.T) {
	b, err := LoadBundle("../testdata/verify/artifact.txt.cachet.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	cert := vc.Certificate()
	if cert == nil {
		t.Fatal("the vector has no certificate")
	}
	for _, anyRef := range []bool{false, true} {
		p, err := PolicyFor(cert, anyRef)
		if err != nil {
			t.Fatal(err)
		}
		if p.Issuer == "" || p.RepositoryID != "123456789" || p.Repository == "" {
			t.Errorf("anyRef %v: policy %+v", anyRef, p)
		}
		switch {
		case !anyRef && (p.Identity == "" || p.IdentityRegexp != ""):
			t.Errorf("exact: identity %q, regexp %q", p.Identity, p.IdentityRegexp)
		case anyRef && (p.Identity != "" || !regexp.MustCompile(p.IdentityRegexp).MatchString(cert.URIs[0].String())):
			t.Errorf("any ref: identity %q, regexp %q does not match %s", p.Identity, p.IdentityRegexp, cert.URIs[0])
		}
	}
}

// TestPolicyForBundle: a certificate bundle gives its policy; a key-based bundle has no
// identity to pin (ErrKeyBundle); a bundle that does not load is a ReasonBundle *Error.
func TestPolicyForBundle(t *testing.T) {
	for _, tc := range []struct {
		path      string
		keyBundle bool
		loadErr   bool
	}{
		{path: "../testdata/verify/artifact.txt.cachet.sigstore.json"},
		{path: "../testdata/conformance/bundle-verify/managed-key-happy-path/bundle.sigstore.json", keyBundle: true},
		{path: "../testdata/verify/artifact.txt", loadErr: true},
		{path: "../testdata/verify/missing.sigstore.json", loadErr: true},
	} {
		p, err := PolicyForBundle(tc.path, false)
		var ve *Error
		switch {
		case tc.keyBundle:
			if !errors.Is(err, ErrKeyBundle) {
				t.Errorf("%s: err %v, want ErrKeyBundle", tc.path, err)
			}
		case tc.loadErr:
			if !errors.As(err, &ve) || ve.Reason != ReasonBundle {
				t.Errorf("%s: err %v, want a bundle *Error", tc.path, err)
			}
		case err != nil || p.RepositoryID != "123456789":
			t.Errorf("%s: policy %+v, err %v", tc.path, p, err)
		}
	}
}
