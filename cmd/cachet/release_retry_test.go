package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
)

// TestRetryAfterLocalErrors: errors of local files are final, network errors are
// retried. A bare syscall.Errno satisfies net.Error; that must not make a full disk or
// a missing permission look like a network error worth six attempts.
func TestRetryAfterLocalErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"disk full", &fs.PathError{Op: "write", Path: "/tmp/asset", Err: syscall.ENOSPC}, false},
		{"no permission", fmt.Errorf("asset: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}), false},
		{"bare errno", syscall.EIO, false},
		{"connection reset", &url.Error{Op: "Get", URL: "https://api.github.com", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"download cut short", &transientError{io.ErrUnexpectedEOF}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, why := retryAfter(nil, tc.err, 1)
			if (why != "") != tc.retry {
				t.Fatalf("retryAfter(%v) = %q, want retry %v", tc.err, why, tc.retry)
			}
		})
	}
}

// TestDownloadWriteErrorIsFinal: a copy that fails on the local side is not a
// transient download error.
func TestDownloadWriteErrorIsFinal(t *testing.T) {
	src := &readErrs{r: strings.NewReader("asset bytes")}
	_, err := io.Copy(failWriter{}, src)
	if err == nil || src.err != nil {
		t.Fatalf("copy err %v, read err %v: a write failure must leave the read side clean", err, src.err)
	}
	src = &readErrs{r: io.MultiReader(strings.NewReader("x"), errReader{io.ErrUnexpectedEOF})}
	if _, err := io.Copy(io.Discard, src); err == nil || src.err == nil {
		t.Fatalf("a read failure was not recorded: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
