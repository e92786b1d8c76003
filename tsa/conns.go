package tsa

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Conns tracks a server's connections so that a graceful stop can close those that never
// carried a request. net/http's Server.Shutdown waits up to 5 s for a new connection's
// first request, and a load balancer's transport keeps spare connections it dialled and
// never used: without this, every SIGTERM behind one would wait out its timeout.
//
// Wrap the listener with Listen and set the server's ConnState to c.State.
type Conns struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	c     *Conns
	read  atomic.Bool  // a byte of a request has arrived
	state atomic.Int32 // http.ConnState
}

func (t *trackedConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.read.Store(true)
	}
	return n, err
}

func (t *trackedConn) Close() error {
	t.c.mu.Lock()
	delete(t.c.conns, t)
	t.c.mu.Unlock()
	return t.Conn.Close()
}

type trackedListener struct {
	net.Listener
	c *Conns
}

func (l trackedListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: conn, c: l.c}
	l.c.mu.Lock()
	if l.c.conns == nil {
		l.c.conns = map[*trackedConn]struct{}{}
	}
	l.c.conns[t] = struct{}{}
	l.c.mu.Unlock()
	return t, nil
}

// Listen returns ln with every accepted connection tracked by c.
func (c *Conns) Listen(ln net.Listener) net.Listener { return trackedListener{ln, c} }

// State is the http.Server's ConnState hook.
func (c *Conns) State(conn net.Conn, s http.ConnState) {
	if t, ok := conn.(*trackedConn); ok {
		t.state.Store(int32(s))
	}
}

// CloseUnused closes every connection on which no byte of a request has arrived, and
// says how many it closed. Call it once clients have been told to go elsewhere (not
// ready): a request that arrives on such a connection afterwards would be one the
// balancer should not have sent.
func (c *Conns) CloseUnused() int {
	c.mu.Lock()
	var unused []*trackedConn
	for t := range c.conns {
		if http.ConnState(t.state.Load()) == http.StateNew && !t.read.Load() {
			unused = append(unused, t)
		}
	}
	c.mu.Unlock()
	for _, t := range unused {
		t.Close()
	}
	return len(unused)
}
