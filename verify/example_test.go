package verify_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cachet-sign/cachet/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Verifying a keyless bundle offline: the trusted root (Fulcio CA, Rekor keys, TSA
// chain, CT log) and a policy naming the workflow that must have signed. The vectors
// are real bundles from the local Sigstore stack (testdata/README.md).
func Example() {
	tr, err := root.NewTrustedRootFromPath("../testdata/verify/trusted_root.json")
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(tr, &verify.Policy{
		Identity:      "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		Issuer:        "http://127.0.0.1:27310",
		Repository:    "octo-org/octo-repo",
		Ref:           "refs/heads/main",
		MinTimestamps: 1, // an RFC 3161 timestamp, besides the Rekor entry
	})
	if err != nil {
		log.Fatal(err)
	}
	r := v.Verify(context.Background(), verify.Subject{
		Path:   "../testdata/verify/artifact.txt",
		Bundle: "../testdata/verify/artifact.txt.cachet.sigstore.json",
	})
	fmt.Println(r.Verified, r.Repository, r.Ref)

	// The same bundle for another artifact is refused, with a reason to branch on.
	r = v.Verify(context.Background(), verify.Subject{
		Path:   "../testdata/verify/other.txt",
		Bundle: "../testdata/verify/artifact.txt.cachet.sigstore.json",
	})
	fmt.Println(r.Verified, r.Reason)
	// Output:
	// true https://github.com/octo-org/octo-repo refs/heads/main
	// false artifact-mismatch
}
