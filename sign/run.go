package sign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/regfile"
)

// RunOptions say how SignAll spreads the work.
type RunOptions struct {
	// Parallel is how many subjects are signed at once: Rekor and TSA requests in
	// flight, bundle checks running. 8 when zero.
	Parallel int
	// HashParallel is how many files are hashed at once; min(GOMAXPROCS, 4) when zero.
	// Each hasher holds one buffer (regfile.HashBufferSize), so memory does not grow with file
	// size or count.
	HashParallel int
	// Resume keeps a subject's existing bundle when it verifies (Pipeline.Verify: the
	// trusted root, the same identity or key, the subject's digest); anything else at
	// the bundle path is signed again and replaced.
	Resume bool
	// OnOutcome, when set, is called once per subject as it finishes, never
	// concurrently.
	OnOutcome func(Outcome)
}

// MaxParallel is the largest RunOptions.Parallel a caller should let a user ask for.
const MaxParallel = 256

// CheckParallel refuses a number of subjects signed at once outside 1..MaxParallel,
// in words a caller puts after its own name for it.
func CheckParallel(n int) error {
	if n < 1 || n > MaxParallel {
		return fmt.Errorf("want 1 to %d", MaxParallel)
	}
	return nil
}

// Outcome is what happened to one subject in SignAll.
type Outcome struct {
	Result
	// Kept: an existing bundle verified and was kept; nothing was signed or logged.
	Kept bool
	// Replaced says why a bundle found at the path was not kept ("" when none was there).
	Replaced string
}

// HashContext streams path, a regular file, through SHA-256 (regfile.SHA256: pooled
// buffer, refuses special files without blocking, stops when ctx ends).
func HashContext(ctx context.Context, path string) ([]byte, error) { return regfile.SHA256(ctx, path) }

// SignAll signs subjects with bounded parallelism and returns one Outcome per subject,
// in order. Files are hashed by HashParallel workers and handed to Parallel signers;
// one subject's failure does not stop the others. A subject not reached because ctx
// ended is an Outcome with ctx's error: none is dropped silently.
func (p *Pipeline) SignAll(ctx context.Context, subjects []Subject, o RunOptions) []Outcome {
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	hpar := o.HashParallel
	if hpar <= 0 {
		hpar = min(runtime.GOMAXPROCS(0), 4)
	}
	out := make([]Outcome, len(subjects))
	var mu sync.Mutex
	done := func(i int, oc Outcome) {
		mu.Lock()
		defer mu.Unlock()
		out[i] = oc
		if o.OnOutcome != nil {
			o.OnOutcome(oc)
		}
	}
	type job struct {
		i int
		s Subject
	}
	toHash := make(chan job)
	toSign := make(chan job, par)
	go func() {
		defer close(toHash)
		for i, s := range subjects {
			select {
			case toHash <- job{i, s}:
			case <-ctx.Done():
				for j := i; j < len(subjects); j++ {
					done(j, notReached(subjects[j], ctx.Err()))
				}
				return
			}
		}
	}()
	var hashers sync.WaitGroup
	for range hpar {
		hashers.Go(func() {
			for j := range toHash {
				if j.s.Name == "" {
					j.s.Name = j.s.Path
				}
				if j.s.Digest == nil {
					d, err := HashContext(ctx, j.s.Path)
					if err != nil {
						// Sign hashes again, fails the same way, and audits the failure.
						done(j.i, Outcome{Result: p.Sign(ctx, j.s)})
						continue
					}
					j.s.Digest = d
				}
				select {
				case toSign <- j:
				case <-ctx.Done():
					done(j.i, notReached(j.s, ctx.Err()))
				}
			}
		})
	}
	go func() {
		hashers.Wait()
		close(toSign)
	}()
	var signers sync.WaitGroup
	for range par {
		signers.Go(func() {
			for j := range toSign {
				if err := ctx.Err(); err != nil {
					done(j.i, notReached(j.s, err))
					continue
				}
				done(j.i, p.signOne(ctx, j.s, o.Resume))
			}
		})
	}
	signers.Wait()
	return out
}

func notReached(s Subject, err error) Outcome {
	if s.Name == "" {
		s.Name = s.Path
	}
	return Outcome{Result: Result{Subject: s, LogIndex: -1, Err: fmt.Errorf("not signed: %w", err)}}
}

func (p *Pipeline) signOne(ctx context.Context, s Subject, resume bool) Outcome {
	var replaced string
	if resume {
		idx, err := p.Existing(s.Bundle, s.Digest)
		switch {
		case err == nil:
			return Outcome{Result: Result{Subject: s, Digest: s.Digest, LogIndex: idx}, Kept: true}
		case errors.Is(err, os.ErrNotExist):
		default:
			replaced = err.Error()
		}
	}
	return Outcome{Result: p.Sign(ctx, s), Replaced: replaced}
}

// ErrNotKept wraps why an existing bundle was not kept.
var ErrNotKept = errors.New("existing bundle not kept")

// Existing checks the bundle at path the way Sign checks a bundle before writing it
// (Pipeline.Verify: trusted root, identity or key, digest). It returns the bundle's log
// index (-1 without one) when the bundle verifies; an error wrapping os.ErrNotExist when
// there is none; otherwise an ErrNotKept saying why (unreadable, another identity, another
// digest, an untrusted log). With Authorize set, a digest the policy refuses is never
// kept: signing it again is what reports the refusal.
func (p *Pipeline) Existing(path string, digest []byte) (int64, error) {
	if p.Verify == nil {
		return -1, fmt.Errorf("%w: pipeline has no verification step", ErrNotKept)
	}
	if _, err := os.Stat(path); err != nil {
		return -1, err
	}
	if p.Authorize != nil {
		if err := p.Authorize(digest); err != nil {
			return -1, fmt.Errorf("%w: the signing policy refuses its digest", ErrNotKept)
		}
	}
	b, err := bundle.Read(path)
	if err != nil {
		return -1, fmt.Errorf("%w: %v", ErrNotKept, err)
	}
	if err := p.Verify(b, digest); err != nil {
		return -1, fmt.Errorf("%w: does not verify for this identity and digest: %v", ErrNotKept, err)
	}
	idx := int64(-1)
	if es := b.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
		idx = es[0].GetLogIndex()
	}
	return idx, nil
}
