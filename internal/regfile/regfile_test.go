//go:build unix

package regfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	td := t.TempDir()
	small := filepath.Join(td, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(td, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(td, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zeroLink := filepath.Join(td, "zero")
	if err := os.Symlink("/dev/zero", zeroLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		want       string
		err        error
		msg        string
	}{
		{name: "regular", path: small, max: 5, want: "hello"},
		{name: "symlink to regular", path: link, max: 16, want: "hello"},
		{name: "one byte over", path: small, max: 4, err: ErrTooLarge, msg: "more than 4 bytes"},
		{name: "fifo", path: fifo, max: 16, err: ErrNotRegular, msg: "a FIFO"},
		{name: "dev zero", path: "/dev/zero", max: 16, err: ErrNotRegular, msg: "a character device"},
		{name: "symlink to dev zero", path: zeroLink, max: 16, err: ErrNotRegular, msg: "a character device"},
		{name: "directory", path: td, max: 16, err: ErrNotRegular, msg: "a directory"},
		{name: "missing", path: filepath.Join(td, "nope"), max: 16, err: os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var b []byte
			var err error
			go func() {
				defer close(done)
				b, err = ReadFile(tc.path, tc.max)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("ReadFile(%s) still blocked after 5 s", tc.path)
			}
			if tc.err == nil {
				if err != nil || string(b) != tc.want {
					t.Fatalf("ReadFile = %q, %v; want %q", b, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("ReadFile err = %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("ReadFile err = %q, want the path and %q", err, tc.msg)
			}
		})
	}
}

func TestReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := errors.New("stop")
	// The underlying reader cancels on its third read: the next Read must return the
	// cause without reading again, so exactly three reads happen, however fast the
	// machine. (A Reader that ignored ctx would copy /dev/zero forever.)
	src := &cancelAfter{r: f, n: 3, cancel: func() { cancel(stop) }}
	_, err = io.Copy(io.Discard, Reader(ctx, src))
	if !errors.Is(err, stop) {
		t.Fatalf("copy of /dev/zero ended with %v, want the context's cause", err)
	}
	if src.reads != 3 {
		t.Fatalf("%d reads of the source, want 3: Reader read on after the cancel", src.reads)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, Reader(t.Context(), strings.NewReader("abc"))); err != nil || buf.String() != "abc" {
		t.Fatalf("copy = %q, %v", buf.String(), err)
	}
}

// cancelAfter reads from r and calls cancel during its n-th read.
type cancelAfter struct {
	r      io.Reader
	n      int
	reads  int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == c.n {
		c.cancel()
	}
	return c.r.Read(p)
}
