package e2e

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

// Ports without races. Picking a free port by listening on :0, closing, and handing
// the number to another process leaves a window in which any process on the machine
// (other engineers' tests, the stack) can take it. Instead the tests either keep the
// socket and pass it on (listenerFile), let the child bind :0 and report its address
// (cachet tsa serve prints it), or hold a port that refuses (refusingURL).

// listenerFile listens on 127.0.0.1:0 and returns the listening socket as a file for
// exec.Cmd.ExtraFiles, with its host:port. The child serves the very socket the test
// bound, so no other process can take the port in between. The test's copy is closed
// when the test ends; close it sooner (after Start) so that the port refuses as soon as
// the child exits.
func listenerFile(t *testing.T) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // f is a dup: the socket stays open through it
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}

// refusingURL returns http://127.0.0.1:PORT where PORT refuses every connection for
// the rest of the test: a TCP socket bound to it that never listens. Linux answers a
// SYN to a bound, non-listening port with a RST (connection refused), and while the
// socket is bound (without SO_REUSEADDR) no other process can bind or listen on the
// port, so nothing can start answering there mid-test. Closing a :0 listener instead
// would free the port for anyone.
func refusingURL(t *testing.T) string {
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
