//go:build !unix

package policy

import "fmt"

// readTrusted refuses: the ownership checks that keep a job from choosing its own
// signing policy are written for Unix runners; key mode is not offered elsewhere.
func readTrusted(real string) ([]byte, error) {
	return nil, fmt.Errorf("%w: %s: key mode's policy checks (owner root, not writable by the job) exist on Linux and macOS runners only", ErrUntrusted, real)
}
