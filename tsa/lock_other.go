//go:build !unix

package tsa

// lockFile is a no-op where flock is unavailable: run one process per state directory.
func lockFile(string) (func() error, error) { return func() error { return nil }, nil }
