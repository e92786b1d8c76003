package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestSignal(t *testing.T) {
	for _, tc := range []struct {
		sig  os.Signal
		msg  string
		code int
	}{
		{os.Interrupt, "interrupted (SIGINT)", 130},
		{syscall.SIGTERM, "interrupted (SIGTERM)", 143},
		{syscall.SIGHUP, "interrupted (hangup)", 129},
	} {
		s := &Signal{tc.sig}
		if s.Error() != tc.msg || s.ExitCode() != tc.code {
			t.Errorf("%v: %q, exit %d; want %q, %d", tc.sig, s.Error(), s.ExitCode(), tc.msg, tc.code)
		}
	}
}

// TestNotify: a SIGTERM to the process ends the context with a *Signal naming it.
func TestNotify(t *testing.T) {
	ctx, stop := Notify(t.Context())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context did not end")
	}
	var s *Signal
	if !errors.As(context.Cause(ctx), &s) || s.Sig != syscall.SIGTERM {
		t.Fatalf("cause %v, want SIGTERM", context.Cause(ctx))
	}
	stop()
	if cause := context.Cause(ctx); !errors.As(cause, &s) {
		t.Fatalf("stop replaced the cause: %v", cause)
	}
}

// TestResult: without a signal the run's error stands; with one the signal is the
// outcome, wrapping what else went wrong, unless the command stopped as asked.
func TestResult(t *testing.T) {
	sig := &Signal{syscall.SIGTERM}
	ended, cancel := context.WithCancelCause(context.Background())
	cancel(sig)
	failed := errors.New("upload failed")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		err     error
		stopped bool
		want    string // "" for nil
		signal  bool
	}{
		{name: "no signal, success", ctx: context.Background()},
		{name: "no signal, failure", ctx: context.Background(), err: failed, want: "upload failed"},
		{name: "signal, nothing returned", ctx: ended, want: "interrupted (SIGTERM)", signal: true},
		{name: "signal, the signal returned", ctx: ended, err: fmt.Errorf("%w", sig), want: "interrupted (SIGTERM)", signal: true},
		{name: "signal and a failure", ctx: ended, err: failed, want: "interrupted (SIGTERM): upload failed", signal: true},
		{name: "stopped as asked", ctx: ended, stopped: true},
		{name: "stopped, but failed", ctx: ended, err: failed, stopped: true, want: "interrupted (SIGTERM): upload failed", signal: true},
	} {
		err, intr := Result(tc.ctx, tc.err, tc.stopped)
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want || (intr != nil) != tc.signal {
			t.Errorf("%s: %v, signal %v; want %q, signal %v", tc.name, err, intr, tc.want, tc.signal)
		}
		if tc.signal && !errors.Is(err, tc.err) && tc.err != nil && !errors.Is(tc.err, sig) {
			t.Errorf("%s: %v does not wrap %v", tc.name, err, tc.err)
		}
	}
}

// TestWait: the command's code, also after a signal within the grace; none after it.
func TestWait(t *testing.T) {
	done := make(chan int, 1)
	done <- 3
	if code, ok := Wait(context.Background(), done, nil); code != 3 || !ok {
		t.Fatalf("finished: %d %v", code, ok)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	late := make(chan int, 1)
	go func() { time.Sleep(10 * time.Millisecond); late <- 4 }()
	if code, ok := Wait(ended, late, func() time.Duration { return time.Minute }); code != 4 || !ok {
		t.Fatalf("within the grace: %d %v", code, ok)
	}
	if _, ok := Wait(ended, make(chan int), func() time.Duration { return time.Millisecond }); ok {
		t.Fatal("a command that never ends was waited for")
	}
}
