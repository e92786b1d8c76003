// Package interrupt turns SIGINT and SIGTERM into the cancellation cause of a context,
// so a command that stops because of one can say which, and exit as a shell expects
// (128 + the signal's number). It does not exit the process: the caller's one exit
// point does.
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Signal is the cause of a context a signal ended.
type Signal struct{ Sig os.Signal }

func (s *Signal) Error() string { return "interrupted (" + Name(s.Sig) + ")" }

// ExitCode is the shell's convention for a process ended by the signal: 128 + its
// number; 1 for a signal without one.
func (s *Signal) ExitCode() int {
	if n, ok := s.Sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// Name is SIGINT or SIGTERM, else the signal's own description.
func Name(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// Notify is signal.NotifyContext with the signal kept as the context's cause (a
// *Signal), so the exit message can name it. stop releases the signals and cancels.
func Notify(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(&Signal{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// Result is how a run that returned err ends when ctx may have been ended by a signal.
// Without a signal, err as it is. With one, the run did not finish what it was asked,
// whatever it returned: the signal (a *Signal, also returned for its exit code), with
// err after it when err says more; unless stopped says the command ended as the
// signal asked it to (a server whose normal end is SIGTERM) and err is nil.
func Result(ctx context.Context, err error, stopped bool) (error, *Signal) {
	var intr *Signal
	if !errors.As(context.Cause(ctx), &intr) || err == nil && stopped {
		return err, nil
	}
	if err == nil || errors.Is(err, intr) && err.Error() == intr.Error() {
		return errors.New(intr.Error()), intr
	}
	return fmt.Errorf("%s: %w", intr.Error(), err), intr
}

// Wait is the code done delivers; after ctx ends (a signal) it waits grace() longer at
// most, and then gives up (ok false): a command that does not heed ctx (go-tuf's
// fetcher takes no context) does not keep the process alive.
func Wait(ctx context.Context, done <-chan int, grace func() time.Duration) (code int, ok bool) {
	select {
	case code = <-done:
		return code, true
	case <-ctx.Done():
	}
	select {
	case code = <-done:
		return code, true
	case <-time.After(grace()):
		return 0, false
	}
}
