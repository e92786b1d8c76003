package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/sign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// Signing one file with a key held in memory, with no network: no transparency log
// (Rekor nil) and no timestamp authority (TSA nil), as in the package's unit tests. A
// pipeline always checks the finished bundle (Verify) before writing it; here the check
// is the signature over the digest with the public key. In cachet, key mode uses
// KeyCheck against the trusted root, and keyless mode KeylessCheck.
func ExamplePipeline_Sign() {
	dir, err := os.MkdirTemp("", "cachet-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	art := filepath.Join(dir, "app.tar.gz")
	if err := os.WriteFile(art, []byte("release artifact\n"), 0o644); err != nil {
		log.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	checkSignature := func(b *sgbundle.Bundle, digest []byte) error {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest, b.GetMessageSignature().GetSignature()) {
			return errors.New("signature does not verify")
		}
		return nil
	}
	p := &sign.Pipeline{Signer: key, KeyHint: "example-key", Verify: checkSignature}

	res := p.Sign(context.Background(), sign.Subject{Path: art, Bundle: art + ".sigstore.json"})
	if res.Err != nil {
		log.Fatal(res.Err)
	}
	b, err := bundle.Read(art + ".sigstore.json")
	if err != nil {
		log.Fatal(err)
	}
	want := sha256.Sum256([]byte("release artifact\n"))
	fmt.Println("bundle digest is the artifact's:", bytes.Equal(b.GetMessageSignature().GetMessageDigest().GetDigest(), want[:]))
	fmt.Println("key hint:", b.GetVerificationMaterial().GetPublicKey().GetHint())
	fmt.Println("log index:", res.LogIndex) // -1: no log

	// A policy that refuses (Authorize) stops the pipeline before anything is signed:
	// no bundle is written.
	p.Authorize = func([]byte) error { return errors.New("tenant release may not sign this digest") }
	res = p.Sign(context.Background(), sign.Subject{Path: art, Bundle: art + ".refused.sigstore.json"})
	_, statErr := os.Stat(art + ".refused.sigstore.json")
	fmt.Println(res.Err, errors.Is(statErr, os.ErrNotExist))
	// Output:
	// bundle digest is the artifact's: true
	// key hint: example-key
	// log index: -1
	// tenant release may not sign this digest true
}

// The checksums file of a release (sha256sum's text, binary and --tag forms) names
// artifacts to sign by digest, without the files being here.
func ExampleParseChecksums() {
	sums := "" +
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  cachet-linux-amd64\n" +
		"SHA256 (cachet-linux-arm64) = 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752\n"
	cs, err := sign.ParseChecksums(strings.NewReader(sums))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cs {
		fmt.Printf("%s sha256:%x...\n", c.Name, c.Digest[:4])
	}
	_, err = sign.ParseChecksums(strings.NewReader("d41d8cd98f00b204e9800998ecf8427e  md5.txt\n"))
	fmt.Println(errors.Is(err, sign.ErrChecksums))
	// Output:
	// cachet-linux-amd64 sha256:9f86d081...
	// cachet-linux-arm64 sha256:60303ae2...
	// true
}
