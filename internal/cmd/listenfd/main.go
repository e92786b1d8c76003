// Command listenfd runs a server on a loopback port no other process can take first: it
// binds 127.0.0.1:0, writes the address it got (HOST:PORT) to ADDR_FILE, and runs
// COMMAND with the listening socket as file descriptor 3, the way systemd socket
// activation hands one over (scripts/registry/run fd). Picking a free port and letting
// the server bind it later races with every other process on the machine; here the
// socket is held from the moment the port is chosen. SIGINT and SIGTERM are passed on
// to COMMAND, and listenfd exits with its status.
//
//	listenfd ADDR_FILE COMMAND [ARG...]
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: listenfd ADDR_FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	code, err := run(os.Args[1], os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "listenfd:", err)
	}
	os.Exit(code)
}

func run(addrFile, name string, args []string) (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1, err
	}
	sock, err := ln.(*net.TCPListener).File()
	ln.Close() // sock is a duplicate: the socket stays bound and listening
	if err != nil {
		return 1, err
	}
	// Written whole before the rename, so a reader never sees half an address.
	tmp := filepath.Join(filepath.Dir(addrFile), "."+filepath.Base(addrFile)+".tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
		return 1, err
	}
	if err := os.Rename(tmp, addrFile); err != nil {
		return 1, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{sock} // file descriptor 3
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	sock.Close() // only COMMAND holds it now: when it exits, the port refuses
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return max(ee.ExitCode(), 1), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
