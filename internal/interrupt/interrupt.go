// Package interrupt turns SIGINT and SIGTERM into the cancellation cause of a context,
// so a command that stops because of one can say which, and exit as a shell expects
// (128 + the signal's number). It does not exit the process: the caller's one exit
// point does.
package interrupt

import (
	"context"
	"os"
	"os/signal"
	"syscall"
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
