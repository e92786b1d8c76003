package tsa

import (
	"bufio"
	"bytes"
	"crypto"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TestRestartInProcess: an authority restarted on the same state directory issues
// serials above all the earlier ones, over HTTP.
func TestRestartInProcess(t *testing.T) {
	dev := sharedDevChain(t)
	state := t.TempDir()
	_, der := request(t, []byte("restart"), crypto.SHA256, nil, nil)
	var all []*big.Int
	for run := range 3 {
		ser, err := OpenSerials(SerialOptions{Dir: state})
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAuthority(Config{Signer: dev.Key, Chain: dev.Chain(), Serials: ser})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(Handler(a, ServerOptions{}))
		for range 50 {
			ts, err := timestamp.ParseResponse(post(t, srv.URL, der))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(all); n > 0 && ts.SerialNumber.Cmp(all[n-1]) <= 0 {
				t.Fatalf("run %d: serial %v after %v", run, ts.SerialNumber, all[n-1])
			}
			all = append(all, ts.SerialNumber)
		}
		srv.Close()
		ser.Close()
	}
}

// TestKill9: `cachet tsa serve`, built from this module, killed with SIGKILL while it
// answers 16 concurrent clients, then restarted on the same state directory, never
// issues a serial twice, and every restart starts above everything issued before.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cachet")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/cachet-sign/cachet/cmd/cachet")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dev := sharedDevChain(t)
	if err := dev.Write(dir); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	_, der := request(t, []byte("kill -9"), crypto.SHA256, nil, nil)
	addrRE := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+)`)

	seen := map[string]int{}
	prevMax := new(big.Int)
	for run := range 4 {
		cmd := exec.CommandContext(t.Context(), bin, "tsa", "serve", "--addr", "127.0.0.1:0",
			"--key", filepath.Join(dir, "key.pem"), "--chain", filepath.Join(dir, "chain.pem"),
			"--state", state, "--rate-limit", "0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		m := addrRE.FindStringSubmatch(line)
		if err != nil || m == nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: no address on stdout (%q, %v): %s", run, line, err, stderr.String())
		}
		url := m[1]

		// Clients run until the kill; the kill lands in the middle of their traffic.
		var mu sync.Mutex
		var got []*big.Int
		stop := make(chan struct{})
		var wg sync.WaitGroup
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		for range 16 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := hc.Post(url, "application/timestamp-query", bytes.NewReader(der))
					if err != nil {
						return // killed
					}
					var b bytes.Buffer
					_, rerr := b.ReadFrom(resp.Body)
					resp.Body.Close()
					if rerr != nil {
						return
					}
					ts, err := timestamp.ParseResponse(b.Bytes())
					if err != nil {
						continue
					}
					mu.Lock()
					got = append(got, ts.SerialNumber)
					mu.Unlock()
				}
			})
		}
		// Kill after a varying amount of traffic so the kill lands at different
		// points of a reservation block (1000 serials).
		want := 300 + run*450
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= want || time.Now().After(deadline) {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		close(stop)
		wg.Wait()
		tr.CloseIdleConnections()
		if len(got) < want {
			t.Fatalf("run %d: only %d tokens before the deadline: %s", run, len(got), stderr.String())
		}

		runMin := got[0]
		for _, s := range got {
			if prev, dup := seen[s.String()]; dup {
				t.Fatalf("serial %v issued in run %d and again in run %d", s, prev, run)
			}
			seen[s.String()] = run
			if s.Cmp(runMin) < 0 {
				runMin = s
			}
		}
		if runMin.Cmp(prevMax) <= 0 {
			t.Fatalf("run %d starts at serial %v, not above the last run's %v", run, runMin, prevMax)
		}
		for _, s := range got {
			if s.Cmp(prevMax) > 0 {
				prevMax = s
			}
		}
		t.Logf("run %d: %d tokens, serials %v..%v", run, len(got), runMin, prevMax)
	}
}
