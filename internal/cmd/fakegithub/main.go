// Command fakegithub serves the fake GitHub Actions OIDC issuer and token-request
// endpoint for the local stack (see internal/fakegithub). It keeps its key in a file so a
// restart keeps tokens verifiable, and listens on loopback only.
package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/fakegithub"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	keyFile := flag.String("key-file", "", "RSA key PEM; created when absent")
	reqTokenFile := flag.String("request-token-file", "", "file holding the runner request token")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !(host == "127.0.0.1" || host == "localhost" || host == "::1") {
		log.Fatalf("fakegithub: --addr %q must be a loopback address", *addr)
	}
	key, err := loadOrCreateKey(*keyFile)
	if err != nil {
		log.Fatalf("fakegithub: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("fakegithub: %v", err)
	}
	iss := fakegithub.New("http://"+ln.Addr().String(), key)
	if *reqTokenFile != "" {
		b, err := os.ReadFile(*reqTokenFile)
		if err != nil {
			log.Fatalf("fakegithub: %v", err)
		}
		iss.RequestToken = strings.TrimSpace(string(b))
	}
	fmt.Println(iss.URL)
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if path == "" {
		return fakegithub.GenerateKey()
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := fakegithub.GenerateKey()
		if err != nil {
			return nil, err
		}
		der := x509.MarshalPKCS1PrivateKey(key)
		return key, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return x509.ParsePKCS1PrivateKey(blk.Bytes)
}
