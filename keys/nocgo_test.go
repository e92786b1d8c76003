//go:build !cgo

package keys

import (
	"fmt"
	"os"
	"testing"
)

// TestMain, in a build without cgo, runs the tests that build and then fails: the
// PKCS#11 tests (hsm_test.go, with their own TestMain) build only with cgo, and
// `go test ./keys` must not pass without them.
func TestMain(m *testing.M) {
	m.Run()
	fmt.Fprintln(os.Stderr, "keys: key-mode (PKCS#11) tests need cgo: install gcc (scripts/setup does) and leave CGO_ENABLED unset, then run again")
	os.Exit(1)
}
