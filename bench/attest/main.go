// Command attest benchmarks cachet's attestation pipeline on the local Sigstore stack:
// N subjects in one in-toto statement (one DSSE signature, one Rekor entry, one
// timestamp) against N statements of one subject each, all under one Fulcio
// certificate, so the difference is the per-statement cost. It prints time and bundle
// size for both.
//
//	go run ./bench/attest            # N=100
//	N=1000 go run ./bench/attest
//
// The stack comes from CACHET_STACK_ENV, or scripts/stack/up.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/attest:", err)
		os.Exit(1)
	}
}

func run() error {
	n := 100
	if s := os.Getenv("N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			return fmt.Errorf("N=%q: want a positive number", s)
		}
	}
	env, err := stackEnv()
	if err != nil {
		return err
	}
	ctx := context.Background()
	tr, err := root.NewTrustedRootFromPath(env["CACHET_STACK_TRUSTED_ROOT"])
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	tok, err := mint(hc, env["CACHET_STACK_OIDC_ISSUER"])
	if err != nil {
		return err
	}
	cf := &keyless.Certifier{
		Verifier: &keyless.Verifier{Issuer: env["CACHET_STACK_OIDC_ISSUER"], HTTPClient: hc},
		Fulcio:   &keyless.Fulcio{URL: env["CACHET_STACK_FULCIO_URL"], HTTPClient: hc},
	}
	cert, err := cf.Certify(ctx, tok)
	if err != nil {
		return err
	}
	check, err := sign.KeylessCheck(tr, cert.Identity.SAN, cert.Identity.Issuer, 1, true, false)
	if err != nil {
		return err
	}
	p := &sign.Pipeline{
		Signer: cert.Signer, Certificate: cert.Chain[0].Raw,
		Rekor: &tlog.Rekor{URL: env["CACHET_STACK_REKOR_URL"], Trusted: tr},
		TSA: &tsa.Client{URLs: []string{env["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp"}, Mode: tsa.All,
			Trusted: tr.TimestampingAuthorities(), HTTPClient: hc},
		Verify: check,
	}
	pred, err := attest.SLSAProvenance(&attest.GitHubRun{
		JobWorkflowRef: cert.Claims.JobWorkflowRef, WorkflowRef: cert.Claims.WorkflowRef, Repository: cert.Claims.Repository,
		Ref: cert.Claims.Ref, SHA: cert.Claims.SHA, EventName: cert.Claims.EventName, RunID: cert.Claims.RunID, RunAttempt: cert.Claims.RunAttempt,
	})
	if err != nil {
		return err
	}
	subjects := make([]attest.Subject, n)
	digests := make([][]byte, n)
	for i := range subjects {
		d := sha256.Sum256([]byte(fmt.Sprintf("artifact %d %d", i, time.Now().UnixNano())))
		subjects[i] = attest.Subject{Name: fmt.Sprintf("dist/app-%04d.tar.gz", i), Digest: d[:]}
		digests[i] = d[:]
	}

	// One statement, N subjects.
	t0 := time.Now()
	st, err := attest.Statement(subjects, attest.SLSAProvenanceV1, pred)
	if err != nil {
		return err
	}
	r := p.Attest(ctx, sign.Attestation{Name: "all", Statement: st, Subjects: digests})
	if r.Err != nil {
		return r.Err
	}
	one := time.Since(t0)
	oneSize := len(r.BundleJSON)

	// N statements, one subject each.
	t1 := time.Now()
	total := 0
	for i, s := range subjects {
		st, err := attest.Statement([]attest.Subject{s}, attest.SLSAProvenanceV1, pred)
		if err != nil {
			return err
		}
		r := p.Attest(ctx, sign.Attestation{Name: s.Name, Statement: st, Subjects: [][]byte{digests[i]}})
		if r.Err != nil {
			return fmt.Errorf("statement %d: %w", i, r.Err)
		}
		total += len(r.BundleJSON)
	}
	many := time.Since(t1)

	fmt.Printf("attest N=%d subjects, one certificate, each bundle with a Rekor dsse entry and one RFC 3161 timestamp, verified before use\n", n)
	fmt.Printf("one statement:  %8.3f s  %9d bytes (1 bundle; %d bytes per subject)\n", one.Seconds(), oneSize, oneSize/n)
	fmt.Printf("N statements:   %8.3f s  %9d bytes (%d bundles; %d bytes each)\n", many.Seconds(), total, n, total/n)
	fmt.Printf("ratio:          %8.1fx time, %.1fx bytes\n", many.Seconds()/one.Seconds(), float64(total)/float64(oneSize))
	return nil
}

func stackEnv() (map[string]string, error) {
	path := os.Getenv("CACHET_STACK_ENV")
	if path == "" {
		out, err := exec.Command("scripts/stack/up").Output()
		if err != nil {
			return nil, fmt.Errorf("scripts/stack/up (run from the repository root): %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		path = lines[len(lines)-1]
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(line, "=")
			m[k] = strings.Trim(v, "'")
		}
	}
	return m, sc.Err()
}

// mint asks the stack's fake GitHub issuer for a job token.
func mint(hc *http.Client, issuer string) (string, error) {
	resp, err := hc.Post(issuer+"/_fake/mint", "application/json", bytes.NewReader([]byte("{}")))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Value == "" {
		return "", fmt.Errorf("mint token: %v (status %s)", err, resp.Status)
	}
	return v.Value, nil
}
