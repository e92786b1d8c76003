// Command hashfile prints the SHA-256 of each file as sha256sum does, through the
// hasher cachet sign uses (sign.Hash: streaming, one pooled buffer). bench/hash runs it
// against sha256sum.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cachet-sign/cachet/sign"
)

func main() {
	code := 0
	for _, p := range os.Args[1:] {
		d, err := sign.HashContext(context.Background(), p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hashfile:", err)
			code = 1
			continue
		}
		fmt.Printf("%x  %s\n", d, p)
	}
	os.Exit(code)
}
