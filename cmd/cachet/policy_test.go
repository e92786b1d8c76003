package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
)

func runCmd(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, &env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// TestPolicyRoundTrip: the policy cachet prints for a bundle, read back as a policy
// file, verifies that bundle; for another workflow it would not.
func TestPolicyRoundTrip(t *testing.T) {
	for _, anyRef := range []bool{false, true} {
		args := []string{"policy", "--bundle", "../../testdata/verify/artifact.txt.cachet.sigstore.json"}
		if anyRef {
			args = append(args, "--any-ref")
		}
		code, out, errs := runCmd(t, nil, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		doc, _, _ := strings.Cut(strings.SplitN(out, "\n", 2)[1], "\n# cachet")
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatalf("printed policy does not parse: %v\n%s", err, doc)
		}
		if p.RepositoryID != "123456789" || (anyRef && p.IdentityRegexp == "") {
			t.Fatalf("policy %+v", p)
		}
		tr, err := root.NewTrustedRootFromPath("../../testdata/verify/trusted_root.json")
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.New(tr, p)
		if err != nil {
			t.Fatal(err)
		}
		r := v.Verify(t.Context(), verify.Subject{Path: "../../testdata/verify/artifact.txt", Bundle: "../../testdata/verify/artifact.txt.cachet.sigstore.json"})
		if !r.Verified {
			t.Fatalf("printed policy rejects its own bundle: %s", r.Error)
		}
		if !strings.Contains(out, "\ncachet verify --certificate-identity") || !strings.Contains(out, "cosign verify-blob") || strings.Contains(out, "--trusted-root trusted_root.json") {
			t.Fatalf("commands missing, or naming a trusted-root file: %s", out)
		}
	}
	// A private TUF repository is named in both commands.
	code, out, errs := runCmd(t, map[string]string{"CACHET_TUF_ROOT": "/etc/cachet/tuf-root.json"}, "policy", "--bundle",
		"../../testdata/verify/artifact.txt.cachet.sigstore.json", "--tuf-url", "https://tuf.example.com")
	if code != 0 || !strings.Contains(out, "cachet verify --tuf-url https://tuf.example.com --tuf-root /etc/cachet/tuf-root.json --certificate-identity") ||
		!strings.Contains(out, "cosign initialize --mirror https://tuf.example.com --root /etc/cachet/tuf-root.json") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"policy"}, {"verify", "--certificate-identity", "x"}, {"sign"},
		{"verify", "--trusted-root", "../../testdata/verify/trusted_root.json", "--certificate-identity-regexp", "x.*", "--certificate-oidc-issuer", "y", "a"}} {
		if code, _, _ := runCmd(t, nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	// In Actions the error is an annotation.
	code, out, _ := runCmd(t, map[string]string{"GITHUB_ACTIONS": "true"}, "verify", "--certificate-identity", "x")
	if code != exitUsage || !strings.HasPrefix(out, "::error::") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}
