// Package regfile opens and reads files that must be regular files: artifacts to hash,
// and the small inputs cachet parses whole (bundles, trust files, policies, PIN and
// checksum files).
//
// It refuses what is not a regular file, judged on the open file (fstat), not on the
// name, so a symbolic link, or a file swapped after a check, cannot slip a FIFO or a
// device in. It opens without blocking (O_NONBLOCK), so a FIFO with no writer is refused
// at once instead of hanging the run. It never trusts the size stat reports (FIFOs and
// devices report 0, a growing file more later): ReadFile reads through a limit and
// refuses a file longer than it. Reader makes a long read stop when its context ends.
// Expand resolves paths and globs of artifacts, taking from a glob only regular files.
package regfile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// ErrNotRegular is a path that names a FIFO, a device, a socket or a directory (after
// following symbolic links).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is a file longer than the limit its reader allows.
var ErrTooLarge = errors.New("file too large")

// Open opens path for reading when it is a regular file. O_NONBLOCK keeps the open of a
// FIFO from waiting for a writer; it changes nothing for reads of a regular file.
func Open(path string) (*os.File, error) {
	f, _, err := open(path)
	return f, err
}

// open is Open, with what the opened file's fstat said.
func open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(st.Mode()))}
	}
	return f, st, nil
}

// ReadFile reads the regular file at path whole, refusing one longer than max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %s", ErrTooLarge, Size(max))}
	}
	return b, nil
}

// Kind names a file mode's type for messages: "a directory", "a FIFO", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// Size formats a byte count the way limits are written: 16 MiB, 4 KiB, 100 bytes.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Reader returns r, made to stop with ctx's error once ctx ends: it checks ctx before
// each read, so a read of an endless or very large file ends within one buffer of a
// cancellation.
func Reader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// HashBufferSize is the read size of SHA256 for a large file: fewer read calls than
// io.Copy's 32 KiB. A file smaller than that is read with a buffer of
// smallHashBufferSize: a signing run hashes up to --parallel files at once, and a 1 MiB
// buffer for each small one grew the heap by tens of MiB of fresh pages (page faults)
// and set off collections that emptied the pool.
const HashBufferSize = 1 << 20

const smallHashBufferSize = 64 << 10

var (
	hashBufs      = sync.Pool{New: func() any { b := make([]byte, HashBufferSize); return &b }}
	smallHashBufs = sync.Pool{New: func() any { b := make([]byte, smallHashBufferSize); return &b }}
)

// SHA256 streams the regular file at path through SHA-256 with a pooled buffer, so
// memory does not grow with its size; a FIFO, a device or a socket is refused when
// opened, without blocking, and the read stops when ctx ends. It is cachet's one file
// hasher (sign, verify, attest).
func SHA256(ctx context.Context, path string) ([]byte, error) {
	f, st, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pool := &hashBufs
	if st.Size() < HashBufferSize {
		pool = &smallHashBufs // a file that grows meanwhile is still read whole, in more reads
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	h := sha256.New()
	if _, err := io.CopyBuffer(h, Reader(ctx, f), *bp); err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return h.Sum(nil), nil
}
