package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/tsalb"
	"github.com/digitorus/timestamp"
)

// replica is one `cachet tsa serve` process of the replica test.
type replica struct {
	id     int
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited; then err is its end
	err    error
}

// startReplica starts replica id (its id from a StatefulSet-style host name) on a
// port the kernel picks, sharing the state directory with the others.
func startReplica(t *testing.T, id int, dir string) *replica {
	t.Helper()
	cmd := exec.Command(cachetBin, "tsa", "serve", "--addr", "127.0.0.1:0", "--key", filepath.Join(dir, "chain", "key.pem"),
		"--chain", filepath.Join(dir, "chain", "chain.pem"), "--state", filepath.Join(dir, "state"), "--replica-id-from-hostname",
		"--audit-log", filepath.Join(dir, fmt.Sprintf("audit-%d.jsonl", id)), "--rate-limit", "0", "--shutdown-delay", "300ms", "--shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(), fmt.Sprintf("HOSTNAME=cachet-tsa-%d", id))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{id: id, cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "cachet tsa: serving ")
	if err != nil || !ok {
		cmd.Process.Kill()
		t.Fatalf("replica %d did not start: %q %v\n%s", id, line, err, r.stderr)
	}
	r.url, _, _ = strings.Cut(addr, " ")
	go func() { io.Copy(io.Discard, out); r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-r.done })
	return r
}

// TestTSAReplicas runs three `cachet tsa serve` replicas (ids from their host names, as
// in the Helm chart's StatefulSet) behind a load balancer under 64 concurrent clients;
// during the load one replica is killed with SIGKILL and restarted, another is sent
// SIGTERM (graceful: not ready, drain, finish in-flight, record its serial mark, exit 0)
// and restarted. Then: every client request got a token, no serial repeats across all
// tokens of all processes, the SIGTERM'd replica lost no request it had accepted, and
// every token verifies with `openssl ts -verify`. A fourth process claiming a running
// replica's id on the same state is refused.
func TestTSAReplicas(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, dir, os.Environ(), cachetBin, "tsa", "dev-chain", "--out", filepath.Join(dir, "chain")); r.code != 0 {
		t.Fatalf("dev-chain: %s", r.stderr)
	}
	reps := []*replica{startReplica(t, 0, dir), startReplica(t, 1, dir), startReplica(t, 2, dir)}
	lb := tsalb.New(reps[0].url, reps[1].url, reps[2].url)
	hctx, stopHealth := context.WithCancel(t.Context())
	go lb.Health(hctx, 50*time.Millisecond)
	front := httptest.NewServer(lb)
	defer front.Close()
	defer stopHealth()

	// Same id on the same state directory: refused while replica 2 runs.
	dup := exec.Command(cachetBin, "tsa", "serve", "--addr", "127.0.0.1:0", "--key", filepath.Join(dir, "chain", "key.pem"),
		"--chain", filepath.Join(dir, "chain", "chain.pem"), "--state", filepath.Join(dir, "state"), "--replica-id-from-hostname")
	dup.Env = append(os.Environ(), "HOSTNAME=cachet-tsa-2")
	if out, err := dup.CombinedOutput(); err == nil || !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("a second replica with id 2 on the same state: %v\n%s", err, out)
	}

	type token struct {
		digest [32]byte
		resp   []byte
		serial *big.Int
	}
	var (
		mu       sync.Mutex
		tokens   []token
		failures []string
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for !stop.Load() {
				var d [32]byte
				rand.Read(d[:])
				req, err := timestamp.CreateRequest(bytes.NewReader(d[:]), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
				if err != nil {
					panic(err)
				}
				d = sha256.Sum256(d[:])
				resp, err := hc.Post(front.URL+"/api/v1/timestamp", "application/timestamp-query", bytes.NewReader(req))
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
					}
				}
				var ts *timestamp.Timestamp
				if err == nil {
					ts, err = timestamp.ParseResponse(body)
				}
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					tokens = append(tokens, token{d, body, ts.SerialNumber})
				}
				mu.Unlock()
				// Pacing, not synchronisation: 64 clients at ~25 requests/s each is the
				// load profile, and leaves the 2 shared cores to the replicas.
				time.Sleep(40 * time.Millisecond)
			}
		}()
	}

	// step waits until n more tokens were issued: each phase runs under real load,
	// however slow the machine, instead of for a fixed time. The steps add up to the
	// 500 tokens the test requires at the end.
	step := func(n int) {
		t.Helper()
		mu.Lock()
		want := len(tokens) + n
		mu.Unlock()
		for deadline := time.Now().Add(60 * time.Second); ; {
			mu.Lock()
			got, failed := len(tokens), len(failures)
			mu.Unlock()
			if got >= want {
				return
			}
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("%d of %d tokens after 60 s (%d requests failed)", got, want, failed)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	step(150)
	// Replica 0: killed, no warning; back on a new port, the balancer follows.
	reps[0].cmd.Process.Signal(syscall.SIGKILL)
	<-reps[0].done
	step(75) // served by the two others while replica 0 is down
	reps[0] = startReplica(t, 0, dir)
	lb.Move(0, reps[0].url)
	step(125)
	// Replica 1: SIGTERM, the way Kubernetes stops a pod.
	termAt := time.Now()
	reps[1].cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-reps[1].done:
		if reps[1].err != nil {
			t.Errorf("replica 1 after SIGTERM: %v (want exit 0)\n%s", reps[1].err, reps[1].stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("replica 1 did not stop within 10 s of SIGTERM\n%s", reps[1].stderr)
	}
	termTook := time.Since(termAt)
	t.Logf("replica 1 after SIGTERM:\n%s", reps[1].stderr)
	if !strings.Contains(reps[1].stderr.String(), "every request in flight was answered") {
		t.Errorf("replica 1's stop message:\n%s", reps[1].stderr)
	}
	lostOnTerm := lb.Stats()[1].Lost
	reps[1] = startReplica(t, 1, dir)
	lb.Move(1, reps[1].url)
	step(150)
	stop.Store(true)
	wg.Wait()

	stats := lb.Stats()
	t.Logf("%d tokens, SIGTERM stop took %s, balancer: %+v", len(tokens), termTook.Round(time.Millisecond), stats)
	if len(failures) > 0 {
		t.Fatalf("%d of %d client requests failed, first: %s", len(failures), len(failures)+len(tokens), failures[0])
	}
	if lostOnTerm != 0 {
		t.Errorf("the replica stopped with SIGTERM lost %d requests it had accepted", lostOnTerm)
	}
	if len(tokens) < 500 {
		t.Fatalf("only %d tokens under load", len(tokens))
	}
	seen := map[string]bool{}
	perReplica := map[int64]int{}
	for _, tk := range tokens {
		s := tk.serial.String()
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
		perReplica[new(big.Int).Rsh(tk.serial, 64).Int64()]++
	}
	if len(perReplica) != 3 {
		t.Errorf("tokens per replica id: %v, want all three", perReplica)
	}

	// openssl ts -verify, every token, two at a time.
	root, untrusted := filepath.Join(dir, "chain", "root.pem"), filepath.Join(dir, "chain", "chain.pem")
	work := make(chan int)
	var vwg sync.WaitGroup
	var bad atomic.Int64
	var firstBad atomic.Value
	for range 2 {
		vwg.Add(1)
		go func() {
			defer vwg.Done()
			for i := range work {
				f := filepath.Join(dir, fmt.Sprintf("t%d.tsr", i))
				if err := os.WriteFile(f, tokens[i].resp, 0o600); err != nil {
					panic(err)
				}
				out, err := exec.Command("openssl", "ts", "-verify", "-digest", hex.EncodeToString(tokens[i].digest[:]), "-in", f,
					"-CAfile", root, "-untrusted", untrusted).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Verification: OK") {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("token %d: %v %s", i, err, out))
				}
				os.Remove(f)
			}
		}()
	}
	for i := range tokens {
		work <- i
	}
	close(work)
	vwg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d tokens fail openssl ts -verify; %v", bad.Load(), firstBad.Load())
	}
}
