// Command fakegithubapi serves the in-memory fake of GitHub's releases and attestations
// REST API (internal/fakegithubapi) on a free loopback port, for scripts/release --local.
// It prints its URL (the GHES API base is URL/api/v3, public downloads are
// URL/OWNER/REPO/releases/download/TAG/NAME) and serves until killed. For tests only.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
)

func main() {
	token := flag.String("token", "", "the token every API request must carry (required)")
	flag.Parse()
	if *token == "" {
		log.Fatal("fakegithubapi: --token is required")
	}
	s, err := fakegithubapi.Start(*token)
	if err != nil {
		log.Fatalf("fakegithubapi: %v", err)
	}
	fmt.Println(s.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Close()
}
