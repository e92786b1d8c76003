package interrupt

import (
	"context"
	"errors"
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
