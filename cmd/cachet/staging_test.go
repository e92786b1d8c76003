package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/trust"
)

// TestStagingSelectsTheStagingRepository: --staging (the conformance protocol's flag)
// names the staging TUF repository and sigstore-go's staging root, ahead of an imported
// cache and of $CACHET_TUF_URL; with --tuf-url or --tuf-root it is a usage error.
func TestStagingSelectsTheStagingRepository(t *testing.T) {
	e := &env{getenv: func(k string) string {
		if k == trust.URLEnv {
			return "https://tuf.example.com"
		}
		return ""
	}, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	tf := tufFlags{staging: true}
	o, named, err := tf.repository().RefreshOptions(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	if o.RepositoryURL != trust.StagingRepository || !bytes.Equal(o.Root, trust.StagingRoot()) || len(o.Root) == 0 || !named {
		t.Fatalf("options = %q, %d root bytes, named %v; want %s with its embedded root, named", o.RepositoryURL, len(o.Root), named, trust.StagingRepository)
	}
	if !strings.Contains(string(o.Root), `"_type": "root"`) && !strings.Contains(string(o.Root), `"_type":"root"`) {
		t.Fatalf("the staging root is not a TUF root: %.80s", o.Root)
	}
	for _, bad := range []tufFlags{{staging: true, url: "https://x"}, {staging: true, root: "root.json"}} {
		var ue *usageError
		if _, _, err := bad.repository().RefreshOptions(e.getenv); !errors.As(tufHint(err), &ue) {
			t.Errorf("%+v: err %v, want a usage error", bad, err)
		}
	}
	code, _, stderr := runCachet(t, "verify-bundle", "--staging", "--tuf-url", "https://x", "--bundle", "b",
		"--certificate-identity", "i", "--certificate-oidc-issuer", "u", "sha256:"+strings.Repeat("0", 64))
	if code != exitUsage || !strings.Contains(stderr, "--staging") {
		t.Fatalf("verify-bundle --staging --tuf-url: exit %d: %s", code, stderr)
	}
}
