//go:build !cgo

package e2e

// The key-mode tests (hsm_test.go, tsa_hsm_test.go, attest_key_test.go) build only
// with cgo (crypto11 loads the PKCS#11 module with dlopen). Without a C compiler they
// would vanish and `go test ./e2e` would pass without them; this file makes TestMain
// fail instead, before anything runs.
func init() {
	noCgo = "e2e: key-mode tests need cgo: install gcc (scripts/setup does) and leave CGO_ENABLED unset, then run again"
}
