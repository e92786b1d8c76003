// Command stackroot writes a Sigstore trusted_root.json for the local stack by asking the
// servers the stack's own scripts just started on loopback for their keys: Fulcio's
// trust bundle, Rekor's log key and the timestamp server's chain (the CT log's and Rekor
// v2's keys are files the stack generated). That is trust on first
// use, acceptable only because the harness started those servers itself; a real trusted
// root comes from TUF or an operator.
package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func main() {
	fulcioURL := flag.String("fulcio-url", "", "Fulcio base URL")
	rekorURL := flag.String("rekor-url", "", "Rekor base URL")
	rekorV2URL := flag.String("rekor-v2-url", "", "Rekor v2 (rekor-tiles) base URL; its host is the checkpoint origin")
	rekorV2Key := flag.String("rekor-v2-key", "", "Rekor v2 log public key, PEM")
	tsaURL := flag.String("tsa-url", "", "timestamp server base URL (repeatable via comma-free multiple flags not supported; one)")
	extraTSA := flag.String("extra-tsa-chain", "", "PEM chain file of another TSA to trust (leaf first)")
	ctURL := flag.String("ctlog-url", "", "CT log base URL (with its prefix), listed under ctlogs")
	ctKey := flag.String("ctlog-key", "", "CT log public key, PEM (its log ID is the SHA-256 of the DER key, as RFC 6962 says)")
	out := flag.String("out", "trusted_root.json", "output file")
	flag.Parse()
	if err := run(*fulcioURL, *rekorURL, *rekorV2URL, *rekorV2Key, *tsaURL, *extraTSA, *ctURL, *ctKey, *out); err != nil {
		log.Fatalf("stackroot: %v", err)
	}
}

func get(url string) ([]byte, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

func run(fulcioURL, rekorURL, rekorV2URL, rekorV2Key, tsaURL, extraTSA, ctURL, ctKey, out string) error {
	start := time.Now().Add(-time.Hour)
	var cas []root.CertificateAuthority
	if fulcioURL != "" {
		b, err := get(fulcioURL + "/api/v2/trustBundle")
		if err != nil {
			return err
		}
		var tb struct {
			Chains []struct {
				Certificates []string `json:"certificates"`
			} `json:"chains"`
		}
		if err := json.Unmarshal(b, &tb); err != nil {
			return fmt.Errorf("fulcio trust bundle: %w", err)
		}
		for _, ch := range tb.Chains {
			var certs []*x509.Certificate
			for _, p := range ch.Certificates {
				cs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(p))
				if err != nil {
					return err
				}
				certs = append(certs, cs...)
			}
			if len(certs) == 0 {
				continue
			}
			// Leaf-most first: the last one is the root.
			cas = append(cas, &root.FulcioCertificateAuthority{
				Root: certs[len(certs)-1], Intermediates: certs[:len(certs)-1],
				ValidityPeriodStart: start, URI: fulcioURL,
			})
		}
	}
	tlogs := map[string]*root.TransparencyLog{}
	if rekorURL != "" {
		b, err := get(rekorURL + "/api/v1/log/publicKey")
		if err != nil {
			return err
		}
		if err := addKeyLog(tlogs, rekorURL, b, start); err != nil {
			return fmt.Errorf("rekor key: %w", err)
		}
	}
	if rekorV2URL != "" {
		if err := addRekorV2(tlogs, rekorV2URL, rekorV2Key, start); err != nil {
			return err
		}
	}
	var tsas []root.TimestampingAuthority
	addTSA := func(pemChain []byte, uri string) error {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM(pemChain)
		if err != nil || len(certs) == 0 {
			return fmt.Errorf("tsa chain %s: %v", uri, err)
		}
		ta := &root.SigstoreTimestampingAuthority{Leaf: certs[0], Root: certs[len(certs)-1], ValidityPeriodStart: start, URI: uri}
		if len(certs) > 2 {
			ta.Intermediates = certs[1 : len(certs)-1]
		}
		tsas = append(tsas, ta)
		return nil
	}
	if tsaURL != "" {
		b, err := get(tsaURL + "/api/v1/timestamp/certchain")
		if err != nil {
			return err
		}
		if err := addTSA(b, tsaURL); err != nil {
			return err
		}
	}
	if extraTSA != "" {
		b, err := os.ReadFile(extraTSA)
		if err != nil {
			return err
		}
		if err := addTSA(b, "file://"+extraTSA); err != nil {
			return err
		}
	}
	ctlogs := map[string]*root.TransparencyLog{}
	if ctURL != "" {
		b, err := os.ReadFile(ctKey)
		if err != nil {
			return fmt.Errorf("ct log key: %w", err)
		}
		if err := addKeyLog(ctlogs, ctURL, b, start); err != nil {
			return fmt.Errorf("ct log key: %w", err)
		}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ctlogs, tsas, tlogs)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// addRekorV2 lists a rekor-tiles log: its ID is the signed-note key hash (for Ed25519,
// over the origin, the host of its URL), what the log puts in each entry's logId.
func addRekorV2(tlogs map[string]*root.TransparencyLog, baseURL, keyFile string, start time.Time) error {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("rekor v2 key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return fmt.Errorf("rekor v2 key: %w", err)
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("rekor v2 URL %q: %v", baseURL, err)
	}
	_, id, err := note.KeyHash(u.Hostname(), pub)
	if err != nil {
		return fmt.Errorf("rekor v2 key: %w", err)
	}
	hf := crypto.SHA256
	if _, ok := pub.(ed25519.PublicKey); ok {
		hf = crypto.SHA512 // what sigstore-go reads back for an Ed25519 log key
	}
	tlogs[fmt.Sprintf("%x", id)] = &root.TransparencyLog{
		BaseURL: baseURL, ID: id, ValidityPeriodStart: start,
		HashFunc: crypto.SHA256, PublicKey: pub, SignatureHashFunc: hf,
	}
	return nil
}

// addKeyLog lists a log (Rekor v1 or CT) whose ID is the SHA-256 of its DER public key,
// as RFC 6962 and Rekor v1 define it; pemKey is that key in PEM.
func addKeyLog(logs map[string]*root.TransparencyLog, baseURL string, pemKey []byte, start time.Time) error {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemKey)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	id := sha256.Sum256(der)
	logs[fmt.Sprintf("%x", id)] = &root.TransparencyLog{
		BaseURL: baseURL, ID: id[:], ValidityPeriodStart: start,
		HashFunc: crypto.SHA256, PublicKey: pub, SignatureHashFunc: crypto.SHA256,
	}
	return nil
}
