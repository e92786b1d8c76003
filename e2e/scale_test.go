package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/faultproxy"
)

// TestScaleFaultsEverySubjectAccountedFor signs 50 artifacts in one call through fault
// proxies in front of Rekor and the TSA that drop connections (before the log sees the
// request, and after it made the entry so the retry meets 409), delay, and answer 429
// and 500 at seeded rates; one artifact's Rekor request always fails. Every artifact
// ends signed (cosign verifies its bundle) or named as failed with a reason, never
// silently skipped; exit 1 lists exactly the failed ones; a re-run without faults keeps
// the valid bundles untouched and signs only the rest.
func TestScaleFaultsEverySubjectAccountedFor(t *testing.T) {
	start := time.Now()
	const n = 50
	ws := t.TempDir()
	dist := filepath.Join(ws, "dist")
	if err := os.Mkdir(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	var arts []string
	digests := map[string]string{}
	for i := range n {
		p := filepath.Join(dist, fmt.Sprintf("pkg-%02d.tar.gz", i))
		content := fmt.Sprintf("artifact %d of the scale test %d\n", i, time.Now().UnixNano())
		writeFile(t, p, content)
		arts = append(arts, p)
		d := sha256.Sum256([]byte(content))
		digests[p] = hex.EncodeToString(d[:])
	}
	poisoned := arts[17]
	isPost := func(r *http.Request) bool { return r.Method == http.MethodPost }
	rekor, err := faultproxy.Start(stack["CACHET_STACK_REKOR_URL"], faultproxy.Config{
		Seed: 8, Drop: 0.08, DropAfter: 0.08, TooMany: 0.08, ServerError: 0.08, Delay: 0.08, DelayMax: 300 * time.Millisecond,
		RetryAfter: "1", MaxFaults: 200,
		Always: func(r *http.Request, body []byte) bool {
			return r.Method == http.MethodPost && bytes.Contains(body, []byte(digests[poisoned]))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rekor.Close()
	tsaProxy, err := faultproxy.Start(stack["CACHET_STACK_TSA_URL"], faultproxy.Config{
		Seed: 9, Drop: 0.05, TooMany: 0.05, ServerError: 0.05, RetryAfter: "1", MaxFaults: 100, Faulty: isPost,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tsaProxy.Close()

	args := []string{"sign", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--parallel", "8", "--progress", "lines",
		"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", rekor.URL,
		"--timestamp-server-url", tsaProxy.URL + "/api/v1/timestamp",
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], dist}
	r := run(t, ws, jobEnv(t, ws), cachetBin, args...)
	rs, ts := rekor.Stats(), tsaProxy.Stats()
	t.Logf("run 1: exit %d in %s; rekor proxy %+v; tsa proxy %+v", r.code, time.Since(start).Round(time.Millisecond), rs, ts)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (one artifact cannot be logged)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if rs.Faults() < 10 || rs.DropsAfter == 0 || rs.Upstream[409] == 0 || ts.Faults() == 0 {
		t.Fatalf("faults not exercised: rekor %+v (409s %d), tsa %+v", rs, rs.Upstream[409], ts)
	}
	failed := accountedFor(t, r, arts)
	if !failed[poisoned] {
		t.Fatalf("the artifact Rekor always refuses is not reported failed:\n%s", r.stderr)
	}
	// The error (the ::error:: annotation's detail) lists exactly the failed ones.
	m := regexp.MustCompile(`(\d+) of 50 artifacts not signed`).FindStringSubmatch(r.stdout + r.stderr)
	if m == nil || m[1] != fmt.Sprint(len(failed)) {
		t.Fatalf("failure summary %v, want %d failed:\n%s", m, len(failed), r.stderr)
	}
	listed := regexp.MustCompile(`(?m)^  (\S+): `).FindAllStringSubmatch(r.stderr, -1)
	if len(listed) != len(failed) {
		t.Fatalf("%d listed as failed, want %d:\n%s", len(listed), len(failed), r.stderr)
	}
	for _, l := range listed {
		if !failed[l[1]] {
			t.Fatalf("%s listed as failed but signed", l[1])
		}
	}
	if !strings.Contains(r.stderr, "faultproxy: this request always fails") {
		t.Fatalf("the poisoned artifact's reason is not given:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "progress: 50/50 (100%)") {
		t.Fatalf("no progress lines:\n%s", r.stderr)
	}
	first := map[string][]byte{}
	for _, a := range arts {
		if !failed[a] {
			first[a] = readNonEmpty(t, a+".sigstore.json")
		}
	}

	// Run 2, faults off: the valid bundles are kept byte for byte, the rest are signed.
	rekor.SetConfig(faultproxy.Config{})
	tsaProxy.SetConfig(faultproxy.Config{})
	r = run(t, ws, jobEnv(t, ws), cachetBin, args...)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.stderr)
	}
	want := fmt.Sprintf("%d signed, %d kept, 0 failed of 50", len(failed), n-len(failed))
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("re-run summary: want %q in\n%s", want, r.stderr)
	}
	for a, b := range first {
		now := readNonEmpty(t, a+".sigstore.json")
		if !bytes.Equal(now, b) || !strings.Contains(r.stderr, "kept "+a+": ") {
			t.Fatalf("%s: a valid bundle was not kept", a)
		}
	}

	// cosign verifies every bundle, those of run 1 and those of run 2.
	cosignVerifyAll(t, ws, arts)
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// accountedFor checks that a signing run reported every artifact exactly once, as signed
// (with its bundle) or not signed (without one), and returns the failed ones.
func accountedFor(t *testing.T, r result, arts []string) map[string]bool {
	t.Helper()
	failed := map[string]bool{}
	for _, a := range arts {
		signedLine := strings.Contains(r.stderr, "signed "+a+" -> ")
		notLine := strings.Contains(r.stderr, "not signed "+a+": ")
		_, statErr := os.Stat(a + ".sigstore.json")
		switch {
		case notLine && statErr == nil:
			t.Fatalf("%s: reported not signed, but a bundle exists", a)
		case notLine:
			failed[a] = true
		case signedLine && statErr != nil:
			t.Fatalf("%s: reported signed, no bundle: %v", a, statErr)
		case !signedLine:
			t.Fatalf("%s: not accounted for in the output:\n%s", a, r.stderr)
		}
	}
	return failed
}

// cosignVerifyAll has cosign verify every artifact's bundle, four at a time.
func cosignVerifyAll(t *testing.T, ws string, arts []string) {
	t.Helper()
	iss := stack["CACHET_STACK_OIDC_ISSUER"]
	var wg sync.WaitGroup
	errs := make(chan string, len(arts))
	sem := make(chan struct{}, 4)
	for _, a := range arts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if v := cosignVerify(t, ws, a+".sigstore.json", wantSAN, iss, a); v.code != 0 {
				errs <- fmt.Sprintf("%s: %s", a, v.stderr)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("cosign rejected", e)
	}
}

// TestScaleFaultsRekorV2 is the fault run against the Rekor v2 (rekor-tiles) log: 30
// artifacts through a proxy that drops connections (before the log sees a request, and
// after it made the entry, so the retry meets rekor-tiles' 409 and cachet signs again),
// delays, and answers 429 and 500.
// Every artifact is accounted for; a re-run without faults completes the rest; cosign
// verifies every bundle.
func TestScaleFaultsRekorV2(t *testing.T) {
	const n = 30
	ws := t.TempDir()
	dist := filepath.Join(ws, "dist")
	if err := os.Mkdir(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	var arts []string
	for i := range n {
		p := filepath.Join(dist, fmt.Sprintf("v2-%02d.bin", i))
		writeFile(t, p, fmt.Sprintf("rekor v2 artifact %d %d\n", i, time.Now().UnixNano()))
		arts = append(arts, p)
	}
	proxy, err := faultproxy.Start(stack["CACHET_STACK_REKOR_V2_URL"], faultproxy.Config{
		Seed: 21, Drop: 0.1, DropAfter: 0.1, TooMany: 0.1, ServerError: 0.1, Delay: 0.1, DelayMax: 300 * time.Millisecond,
		RetryAfter: "1", MaxFaults: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	args := []string{"sign", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--parallel", "16", "--progress", "none",
		"--fulcio-url", stack["CACHET_STACK_FULCIO_URL"], "--rekor-url", proxy.URL, "--rekor-api-version", "2",
		"--timestamp-server-url", stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp",
		"--oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], dist}
	r := run(t, ws, jobEnv(t, ws), cachetBin, args...)
	ps := proxy.Stats()
	t.Logf("run 1: exit %d; proxy %+v", r.code, ps)
	if ps.Faults() < 5 || ps.DropsAfter == 0 || ps.Upstream[409] == 0 {
		t.Fatalf("faults not exercised: %+v", ps)
	}
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	failed := accountedFor(t, r, arts)
	if (r.code == 0) != (len(failed) == 0) {
		t.Fatalf("exit %d with %d failed", r.code, len(failed))
	}
	proxy.SetConfig(faultproxy.Config{})
	r = run(t, ws, jobEnv(t, ws), cachetBin, args...)
	if want := fmt.Sprintf("%d signed, %d kept, 0 failed of %d", len(failed), n-len(failed), n); r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("re-run: exit %d, want %q:\n%s", r.code, want, r.stderr)
	}
	for _, a := range arts {
		if e := readBundle(t, a+".sigstore.json").VerificationMaterial.TlogEntries; len(e) != 1 || e[0].KindVersion.Version != "0.0.2" {
			t.Fatalf("%s: want one Rekor v2 entry: %+v", a, e)
		}
	}
	cosignVerifyAll(t, ws, arts)
}

// TestScaleChecksumsResumeReplacesForeign signs by digest from a sha256sum file (the
// artifacts are not here), then re-runs after one bundle was replaced by another
// artifact's and one made garbage: those two are re-signed and the output says so.
func TestScaleChecksumsResumeReplacesForeign(t *testing.T) {
	ws := t.TempDir()
	out := filepath.Join(ws, "bundles")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var sums strings.Builder
	var names []string
	contents := map[string]string{}
	for i := range 6 {
		name := fmt.Sprintf("remote-%d.bin", i)
		c := fmt.Sprintf("remote artifact %d %d", i, time.Now().UnixNano())
		d := sha256.Sum256([]byte(c))
		fmt.Fprintf(&sums, "%x  dist/%s\n", d, name)
		names = append(names, name)
		contents[name] = c
	}
	sumsFile := filepath.Join(ws, "SHA256SUMS")
	writeFile(t, sumsFile, sums.String())
	args := append([]string{"sign", "--audit-log", filepath.Join(ws, "audit.jsonl"), "--checksums", sumsFile, "--output-dir", out}, stackFlags()...)
	if r := run(t, ws, jobEnv(t, ws), cachetBin, args...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b0 := filepath.Join(out, names[0]+".sigstore.json")
	b1 := filepath.Join(out, names[1]+".sigstore.json")
	other := readNonEmpty(t, filepath.Join(out, names[2]+".sigstore.json"))
	writeFile(t, b0, string(other))
	writeFile(t, b1, "{}")
	r := run(t, ws, jobEnv(t, ws), cachetBin, args...)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"replaced " + b0 + ": existing bundle not kept", "replaced " + b1 + ": existing bundle not kept",
		"2 signed, 4 kept, 0 failed of 6"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("re-run output lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, name := range names {
		art := filepath.Join(ws, name)
		writeFile(t, art, contents[name])
		if v := cosignVerify(t, ws, filepath.Join(out, name+".sigstore.json"), wantSAN, stack["CACHET_STACK_OIDC_ISSUER"], art); v.code != 0 {
			t.Fatalf("cosign rejected %s: %s", name, v.stderr)
		}
	}
}
