// Command tsalb runs the tsalb load balancer in front of TSA replicas (bench/tsa):
//
//	tsalb -addr 127.0.0.1:PORT http://127.0.0.1:A http://127.0.0.1:B ...
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cachet-sign/cachet/internal/tsalb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (printed)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tsalb [-addr A] BACKEND_URL...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := tsalb.New(flag.Args()...)
	go b.Health(ctx, 100*time.Millisecond)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsalb:", err)
		os.Exit(1)
	}
	fmt.Printf("tsalb: serving http://%s\n", ln.Addr())
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "tsalb:", err)
		os.Exit(1)
	}
	for _, s := range b.Stats() {
		fmt.Fprintf(os.Stderr, "tsalb: %s served %d lost %d undelivered %d\n", s.URL, s.Served, s.Lost, s.Undelivered)
	}
}
