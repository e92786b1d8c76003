// Package publicgood holds a snapshot of the Sigstore public-good instance's trusted
// root (Fulcio CAs, the Rekor v1 log key, CT log keys, a TSA chain), embedded so that
// verification works on a machine with no network and nothing installed.
//
// The snapshot is a copy of the file the Go module github.com/sigstore/sigstore ships
// (see README.md and Source); it is not fetched at build time and it never changes at
// run time. It is old by construction: keys the public-good instance added after
// NewestKey (for example its Rekor v2 logs) are not in it, and it cannot know that a key
// it lists was retired since. Callers say when they use it, prefer a root refreshed
// through TUF (cachet trust refresh), and never sign against it.
package publicgood

import (
	_ "embed"
	"time"
)

// TrustedRootJSON is the snapshot, byte for byte as the module ships it.
//
//go:embed trusted_root.json
var TrustedRootJSON []byte

// Where the snapshot comes from; scripts/publicgood-root copies it again.
const (
	Module  = "github.com/sigstore/sigstore"
	Version = "v1.10.9"
	Path    = "pkg/tuf/repository/targets/trusted_root.json"
	License = "Apache-2.0"
)

// NewestKey is the latest validFor.start of any key or chain in the snapshot: nothing
// the public-good instance started using after this date verifies against it.
var NewestKey = time.Date(2023, 4, 14, 0, 0, 0, 0, time.UTC)

// Source names the snapshot for messages: module, version and newest key.
func Source() string {
	return "embedded public-good snapshot (" + Module + "@" + Version + " " + Path + ", newest key " + NewestKey.Format(time.DateOnly) + ")"
}
