package e2e

import (
	"net"
	"os"
	"testing"

	"github.com/cachet-sign/cachet/internal/testnet"
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

// refusingURL is testnet.RefusingURL: a port bound for the whole test that refuses.
func refusingURL(t *testing.T) string { return testnet.RefusingURL(t) }
