// Command tsaload drives an RFC 3161 timestamp server with concurrent clients and
// reports throughput and latency percentiles. It is the load generator of bench/tsa.
//
//	tsaload -url http://127.0.0.1:PORT/api/v1/timestamp -n 2000 -c 64
//
// Every request is a SHA-256 TimeStampReq with its own nonce and certReq set, as
// cachet's client sends. A response counts only when it is HTTP 200 with PKIStatus
// granted. The last line is machine-readable:
//
//	result ok=N failed=F tokps=T p50_ms=A p99_ms=B max_ms=C
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func main() {
	target := flag.String("url", "", "timestamp endpoint URL (loopback only)")
	n := flag.Int("n", 2000, "requests to time")
	c := flag.Int("c", 64, "concurrent clients")
	warmup := flag.Int("warmup", 200, "untimed requests first")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		fmt.Fprintln(os.Stderr, "tsaload: -url must be a loopback URL")
		os.Exit(2)
	}
	reqs := make([][]byte, *n+*warmup)
	for i := range reqs {
		nonce, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
		sum := sha256.Sum256([]byte(fmt.Sprintf("artifact %d", i)))
		r := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: nonce, Certificates: true}
		der, err := r.Marshal()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tsaload:", err)
			os.Exit(1)
		}
		reqs[i] = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tsaload\r\n"+
			"Content-Type: application/timestamp-query\r\nContent-Length: %d\r\n\r\n%s", u.RequestURI(), u.Host, len(der), der)
	}
	clients := make([]*client, *c)
	for i := range clients {
		clients[i] = &client{addr: u.Host}
	}
	defer func() {
		for _, cl := range clients {
			cl.close()
		}
	}()

	run := func(batch [][]byte) (lat []time.Duration, failed int64, took time.Duration) {
		lat = make([]time.Duration, len(batch))
		var next, fails atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for _, cl := range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(batch) {
						return
					}
					t0 := time.Now()
					ok := cl.do(batch[i])
					lat[i] = time.Since(t0)
					if !ok {
						fails.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return lat, fails.Load(), time.Since(start)
	}
	run(reqs[:*warmup])
	lat, failed, took := run(reqs[*warmup:])
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	ok := int64(len(lat)) - failed
	fmt.Printf("result ok=%d failed=%d tokps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		ok, failed, float64(ok)/took.Seconds(), pct(0.50), pct(0.99), pct(1))
}

// client is one simulated client: a goroutine with its own keep-alive HTTP/1.1
// connection, as a timestamp client that reuses its connection has. It writes a request
// and reads the response on that goroutine, without net/http's Transport, whose reader
// and writer goroutines per connection cost the generator about as much CPU as the
// server under test spends on a token; on a shared machine that CPU is taken from the
// server. Both servers are driven by the same code.
type client struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	body bytes.Buffer
}

// do sends one request (a complete HTTP/1.1 request) and reports whether a granted
// TimeStampResp came back. The status is read from the DER directly: the generator must
// not spend the CPU the servers are measured on.
func (c *client) do(req []byte) bool {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return false
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 8<<10)
	}
	// A server that stops answering fails the request instead of hanging the benchmark.
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return false
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return false
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err != nil || resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return false
	}
	s := cryptobyte.String(c.body.Bytes())
	var tsr, status cryptobyte.String
	var code int64
	return s.ReadASN1(&tsr, cbasn1.SEQUENCE) && tsr.ReadASN1(&status, cbasn1.SEQUENCE) &&
		status.ReadASN1Int64WithTag(&code, cbasn1.INTEGER) && code == 0 && len(tsr) > 0
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}
