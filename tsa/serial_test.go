package tsa

import (
	"bytes"
	"crypto"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TestSerialsRestart: serials strictly increase across clean restarts and simulated
// crashes (a process that dies without Close), with a reservation block of any size.
func TestSerialsRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		block      uint64
		perProcess int
		clean      bool
	}{
		{"clean restarts, default block", 0, 1500, true},
		{"crashes mid-block", 10, 7, false},
		{"crashes at block end", 10, 10, false},
		{"block of one", 1, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var last *big.Int
			for run := range 4 {
				s, err := OpenSerials(SerialOptions{Dir: dir, Block: tc.block})
				if err != nil {
					t.Fatal(err)
				}
				for range tc.perProcess {
					n, err := s.Next()
					if err != nil {
						t.Fatal(err)
					}
					if last != nil && n.Cmp(last) <= 0 {
						t.Fatalf("run %d: serial %v after %v", run, n, last)
					}
					last = n
				}
				if tc.clean {
					s.Close()
				} else {
					// A crash: the lock goes with the process, nothing else is written.
					s.mu.Lock()
					for s.extending {
						s.cond.Wait() // a reservation is either durable or not started
					}
					s.mu.Unlock()
					s.unlock()
				}
			}
		})
	}
}

// TestSerialsReplicas: replicas never collide, and two processes cannot share one.
func TestSerialsReplicas(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]int{}
	for _, id := range []int{0, 1, 2, MaxReplicaID} {
		s, err := OpenSerials(SerialOptions{Dir: dir, ReplicaID: id})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 100 {
			n, _ := s.Next()
			if n.Sign() <= 0 || n.BitLen() > 80 {
				t.Fatalf("serial %v out of range", n)
			}
			if new(big.Int).Rsh(n, 64).Int64() != int64(id) {
				t.Fatalf("serial %x lacks replica id %d", n, id)
			}
			if prev, dup := seen[n.String()]; dup {
				t.Fatalf("serial %v from replicas %d and %d", n, prev, id)
			}
			seen[n.String()] = id
		}
	}
	if _, err := OpenSerials(SerialOptions{Dir: dir, ReplicaID: 1}); !errors.Is(err, ErrSerialsLocked) {
		t.Fatalf("second process on replica 1: err = %v, want ErrSerialsLocked", err)
	}
	for _, bad := range []SerialOptions{{Dir: dir, ReplicaID: -1}, {Dir: dir, ReplicaID: MaxReplicaID + 1}, {}} {
		if _, err := OpenSerials(bad); err == nil {
			t.Errorf("OpenSerials(%+v) accepted", bad)
		}
	}
	os.WriteFile(filepath.Join(dir, "serial-r9"), []byte("garbage"), 0o600)
	if _, err := OpenSerials(SerialOptions{Dir: dir, ReplicaID: 9}); err == nil || !strings.Contains(err.Error(), "serial state "+filepath.Join(dir, "serial-r9")+" is corrupt") {
		t.Errorf("corrupt state: err = %v", err)
	}
}

// TestSerialsFailClosed: when the high-water mark cannot be written, no serial beyond
// the durable reservation is issued; the authority answers systemFailure.
func TestSerialsFailClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenSerials(SerialOptions{Dir: dir, Block: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.mu.Lock()
	s.dir = filepath.Join(dir, "missing") // every later reservation fails
	s.mu.Unlock()
	var issued int
	for range 10 {
		if _, err := s.Next(); err != nil {
			break
		}
		issued++
	}
	if issued != 4 {
		t.Fatalf("issued %d serials from a 4-serial durable reservation", issued)
	}
}

// TestConcurrentSerialsDistinct: 10,000 requests from 64 concurrent clients over HTTP
// get 10,000 distinct serials, each in a token that parses.
func TestConcurrentSerialsDistinct(t *testing.T) {
	tt := newTestTSA(t, nil, func(c *Config) { c.Audit = nil })
	srv := tt.server(t, ServerOptions{})
	const total, workers = 10000, 64
	_, der := request(t, []byte("load"), crypto.SHA256, nil, nil)
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	serials := make([]*big.Int, total)
	jobs := make(chan int)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				resp, err := hc.Post(srv.URL, "application/timestamp-query", bytes.NewReader(der))
				if err != nil {
					errc <- err
					return
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				ts, err := timestamp.ParseResponse(b.Bytes())
				if err != nil {
					errc <- err
					return
				}
				serials[i] = ts.SerialNumber
			}
		})
	}
	for i := range total {
		select {
		case jobs <- i:
		case err := <-errc:
			t.Fatal(err)
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	seen := make(map[string]bool, total)
	for i, s := range serials {
		if s == nil {
			t.Fatalf("request %d got no serial", i)
		}
		if seen[s.String()] {
			t.Fatalf("serial %v issued twice", s)
		}
		seen[s.String()] = true
	}
}

// TestSerialsCloseRecordsLast: a graceful stop writes the last serial issued as the
// high-water mark, so the next process goes on right after it; nothing is issued after
// Close, and the reservation hook sees every reservation.
func TestSerialsCloseRecordsLast(t *testing.T) {
	dir := t.TempDir()
	var reservations, reserved uint64
	clock := func() time.Time { return time.Unix(1_800_000_000, 0) } // still: the floor does not move
	s, err := OpenSerials(SerialOptions{Dir: dir, Block: 10, Now: clock, Reserved: func(n uint64, _ time.Duration) { reservations++; reserved += n }})
	if err != nil {
		t.Fatal(err)
	}
	var last *big.Int
	for range 25 {
		if last, err = s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err == nil {
		t.Fatal("Next after Close issued a serial")
	}
	if reservations < 2 || reserved < 25 {
		t.Errorf("reservation hook saw %d reservations of %d serials, want the extensions past the first block", reservations, reserved)
	}
	s2, err := OpenSerials(SerialOptions{Dir: dir, Block: 10, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	n, err := s2.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Add(last, big.NewInt(1)); n.Cmp(want) != 0 {
		t.Fatalf("after a graceful stop at %v the next serial is %v, want %v", last, n, want)
	}
}

// TestSerialsLostMarkRefused: a state directory that shows this replica ran before (its
// lock file) but has lost the mark refuses to start rather than count from the start.
func TestSerialsLostMarkRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSerials(SerialOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(dir, "serial-r0")); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenSerials(SerialOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "the serial high-water mark "+filepath.Join(dir, "serial-r0")+" is missing") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("started without its mark: %v", err)
	}
	// Another replica id in the same directory never ran: it starts.
	s1, err := OpenSerials(SerialOptions{Dir: dir, ReplicaID: 1})
	if err != nil {
		t.Fatalf("a fresh replica id: %v", err)
	}
	s1.Close()
}

// TestSerialsRestoredBackup: the state directory restored from an old backup (the mark
// goes back) still never repeats a serial: the counter starts above the clock, which
// is above every serial issued before.
func TestSerialsRestoredBackup(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "serial-r0")
	t0 := time.Now()
	clock := t0
	now := func() time.Time { return clock }
	s, err := OpenSerials(SerialOptions{Dir: dir, Block: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	backup, err := os.ReadFile(mark)
	if err != nil {
		t.Fatal(err)
	}
	var last *big.Int
	for range 5000 { // many blocks past the backup
		if last, err = s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if err := os.WriteFile(mark, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(time.Minute) // restoring takes a while; the clock moved on
	s2, err := OpenSerials(SerialOptions{Dir: dir, Block: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	n, err := s2.Next()
	if err != nil {
		t.Fatal(err)
	}
	if n.Cmp(last) <= 0 {
		t.Fatalf("after restoring an old mark the next serial %v is not above the last issued %v", n, last)
	}
}
