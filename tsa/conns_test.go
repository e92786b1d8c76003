package tsa

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestConnsCloseUnused: a connection that was dialled and never used is closed, one
// with a request in flight is answered, and Shutdown finishes well inside a deadline
// shorter than net/http's 5 s wait for a new connection's first request.
func TestConnsCloseUnused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inHandler, release := make(chan struct{}), make(chan struct{})
	var conns Conns
	srv := &http.Server{ConnState: conns.State, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		io.WriteString(w, "answered")
	})}
	go srv.Serve(conns.Listen(ln))

	spare, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	got := make(chan string, 1)
	go func() {
		resp, err := testHTTP.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-inHandler
	// The spare connection is accepted (state new) before it can be swept: poll for
	// that, bounded so a lost connection fails instead of hanging.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		conns.mu.Lock()
		n := len(conns.conns)
		conns.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections tracked after 10 s, want 2", n)
		}
	}
	if n := conns.CloseUnused(); n != 1 {
		t.Fatalf("CloseUnused closed %d connections, want 1 (the spare)", n)
	}
	spare.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := spare.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("spare connection: read %v, want EOF (closed by the server)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if s := <-got; s != "answered" {
		t.Fatalf("request in flight: %q, want it answered", s)
	}
}
