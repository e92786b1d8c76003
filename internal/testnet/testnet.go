// Package testnet gives tests addresses on loopback without port races.
//
// Picking a free port by listening on :0, closing, and handing the number on leaves a
// window in which any process on the machine (other tests, the stack) can take it, and
// a fixed "closed" port such as 127.0.0.1:1 is closed only by convention: any root
// process may bind it. RefusingURL instead holds a port that refuses for the whole test.
package testnet

import (
	"fmt"
	"syscall"
	"testing"
)

// RefusingURL returns http://127.0.0.1:PORT where PORT refuses every connection for
// the rest of the test: a TCP socket bound to it that never listens. Linux answers a
// SYN to a bound, non-listening port with a RST (connection refused), and while the
// socket is bound (without SO_REUSEADDR) no other process can bind or listen on the
// port, so nothing can start answering there mid-test.
func RefusingURL(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
