package tsa

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Serial numbers: see the package documentation for the scheme.
const (
	// MaxReplicaID is the largest replica id: 16 bits above the 64-bit counter.
	MaxReplicaID = 1<<16 - 1
	// DefaultBlock is how many serials one durable reservation covers at least.
	DefaultBlock = 1000
	// maxChunk caps the adaptive reservation size (see Serials.Next).
	maxChunk = 1 << 22
)

// ErrSerialsLocked means another process holds the same state directory and replica id.
var ErrSerialsLocked = errors.New("tsa: serial state is in use by another process; give each replica its own replica id or state directory")

// Serials hands out TSTInfo serial numbers that are never reused by this replica, also
// across restarts and crashes, and never collide with another replica's.
type Serials struct {
	replica *big.Int // replica id << 64, added to every counter value
	block   uint64   // minimum reservation
	dir     string   // "" when not persisted
	unlock  func() error
	onRes   func(n uint64, took time.Duration)

	mu        sync.Mutex
	cond      *sync.Cond
	next      uint64 // next counter value to issue
	limit     uint64 // highest counter value covered by a durable reservation
	chunk     uint64 // current reservation size: block, doubled whenever a request waited
	extending bool   // a reservation is being written
	closed    bool   // Close ran: nothing more is issued
	err       error  // the last reservation failed
}

// SerialOptions configure OpenSerials. The zero value persists nothing and is refused
// unless Ephemeral is set.
type SerialOptions struct {
	// Dir holds the high-water mark (serial-r<ID>) and a lock file.
	Dir string
	// ReplicaID is this replica's id, 0..MaxReplicaID; replicas behind one name must
	// each have their own.
	ReplicaID int
	// Block is the reservation size; DefaultBlock when zero.
	Block uint64
	// Ephemeral allows Dir == "": the counter starts at the current Unix time in
	// nanoseconds, so serials stay unique across restarts only while the clock moves
	// forward and fewer than one serial per nanosecond is issued. For development.
	Ephemeral bool
	// Now is the clock (the counter's floor, and Ephemeral's start); time.Now when nil.
	Now func() time.Time
	// Reserved, when not nil, is told of each durable reservation after it (metrics).
	Reserved func(n uint64, took time.Duration)
}

// OpenSerials loads (or creates) the high-water mark and reserves the first block before
// returning, so no serial is issued that a restart could issue again.
func OpenSerials(o SerialOptions) (*Serials, error) {
	if o.ReplicaID < 0 || o.ReplicaID > MaxReplicaID {
		return nil, fmt.Errorf("tsa: replica id %d out of range 0..%d", o.ReplicaID, MaxReplicaID)
	}
	s := &Serials{
		replica: new(big.Int).Lsh(big.NewInt(int64(o.ReplicaID)), 64),
		block:   o.Block,
		dir:     o.Dir,
		onRes:   o.Reserved,
	}
	if s.block == 0 {
		s.block = DefaultBlock
	}
	s.chunk = s.block
	s.cond = sync.NewCond(&s.mu)
	if o.Dir == "" {
		if !o.Ephemeral {
			return nil, errors.New("tsa: no state directory for serial numbers: give one so serials survive restarts")
		}
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		s.next = uint64(now().UnixNano())
		s.limit = ^uint64(0)
		return s, nil
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tsa: serial state: %w", err)
	}
	lockPath := filepath.Join(o.Dir, s.name()+".lock")
	_, lerr := os.Lstat(lockPath)
	usedBefore := lerr == nil // the lock file is made on first start and never removed
	unlock, err := lockFile(lockPath)
	if err != nil {
		return nil, err
	}
	s.unlock = unlock
	hw, found, err := readHighWater(s.path())
	if err != nil {
		unlock()
		return nil, err
	}
	if !found && usedBefore {
		unlock()
		return nil, fmt.Errorf("tsa: %s exists but the serial high-water mark %s is missing: this replica issued serials before, and starting again could repeat them; "+
			"restore %s from a backup (an old one is safe, see the README), or start under a new replica id", lockPath, s.path(), s.name())
	}
	// The counter never starts below the clock in microseconds, so a restored old
	// backup of the mark (or a lost one) cannot lead back into serials issued since:
	// those stay below the time they were issued at, as long as the clock does not go
	// back and this replica averages under one serial per microsecond.
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if floor := uint64(max(0, now().UnixMicro())); hw < floor {
		hw = floor
	}
	if hw > ^uint64(0)-1<<40 {
		unlock()
		return nil, fmt.Errorf("tsa: serial counter in %s is exhausted; use another replica id", s.path())
	}
	s.next = hw + 1
	if err := s.persist(hw + s.block); err != nil {
		unlock()
		return nil, err
	}
	s.limit = hw + s.block
	if s.onRes != nil {
		s.onRes(s.block, 0)
	}
	return s, nil
}

func (s *Serials) name() string {
	return "serial-r" + strconv.Itoa(int(new(big.Int).Rsh(s.replica, 64).Int64()))
}
func (s *Serials) path() string { return filepath.Join(s.dir, s.name()) }

// Next returns a fresh serial: positive, at most 80 bits, strictly greater than every
// serial this replica issued before, in this process or an earlier one.
func (s *Serials) Next() (*big.Int, error) {
	s.mu.Lock()
	for s.closed || s.next > s.limit {
		if s.closed {
			s.mu.Unlock()
			return nil, errors.New("tsa: serials are closed (the server is stopping)")
		}
		if s.err != nil {
			err := s.err
			s.err = nil // let a later call retry the reservation
			s.mu.Unlock()
			return nil, err
		}
		// The reservation did not keep ahead of the request rate: reserve more at once
		// from now on, so requests stop waiting on fsync.
		s.chunk = min(2*s.chunk, maxChunk)
		s.extendLocked()
		s.cond.Wait()
	}
	v := s.next
	s.next++
	// Reserve the next chunk when half of what is left is used, off the request path.
	if s.dir != "" && s.limit-v < s.chunk/2 {
		s.extendLocked()
	}
	s.mu.Unlock()
	n := new(big.Int).SetUint64(v)
	return n.Add(n, s.replica), nil
}

// extendLocked starts writing a new high-water mark unless one is being written.
func (s *Serials) extendLocked() {
	if s.extending || s.dir == "" {
		return
	}
	s.extending = true
	target, n := s.limit+s.chunk, s.chunk
	go func() {
		start := time.Now()
		err := s.persist(target)
		if err == nil && s.onRes != nil {
			s.onRes(n, time.Since(start))
		}
		s.mu.Lock()
		s.extending = false
		if err != nil {
			s.err = err
		} else if target > s.limit {
			s.limit = target
		}
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
}

// Close waits for a reservation in flight, records the last serial issued as the
// high-water mark (a graceful stop: the next process goes on right after it instead of
// skipping the rest of the block) and releases the lock. Serials must not be asked for
// after Close. A crash skips that step; the reservation on disk still covers it.
func (s *Serials) Close() error {
	s.mu.Lock()
	for s.extending {
		s.cond.Wait()
	}
	last, limit := s.next-1, s.limit
	s.closed = true
	s.mu.Unlock()
	var err error
	if s.dir != "" && last < limit {
		err = s.persist(last)
	}
	if s.unlock != nil {
		if uerr := s.unlock(); err == nil {
			err = uerr
		}
	}
	return err
}

// readHighWater reads the mark at path; found is false when there is none.
func readHighWater(path string) (hw uint64, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("tsa: serial state: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		// Never guess: a lost high-water mark could reissue serials.
		return 0, false, fmt.Errorf("tsa: serial state %s is corrupt (%v): restore it, or move to a new replica id", path, err)
	}
	return v, true, nil
}

// persist makes hw durable: write a temporary file, fsync it, rename it over the old
// one, fsync the directory so the rename itself survives a crash.
func (s *Serials) persist(hw uint64) error {
	tmp, err := os.CreateTemp(s.dir, s.name()+".tmp*")
	if err != nil {
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(strconv.FormatUint(hw, 10) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path()); err != nil {
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("tsa: reserve serials: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("tsa: reserve serials: fsync %s: %w", s.dir, err)
	}
	return nil
}
