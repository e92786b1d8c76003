package interrupt

import (
	"sync/atomic"
	"time"
)

// DefaultGrace is how long a command may take to wind down after SIGINT or SIGTERM
// before the process exits anyway: a CI runner that cancels a job waits a few seconds
// before it kills, and the user at a terminal wants the prompt back now.
const DefaultGrace = 800 * time.Millisecond

// Grace is what a running command tells the process's exit point about its end: a
// command whose normal end is SIGTERM (tsa serve) winds down longer than DefaultGrace
// (Extend) and says when it finished as the signal asked (StoppedCleanly), which exits
// 0, not 128+n. The zero value is DefaultGrace, not stopped; a nil *Grace is too, and
// ignores what it is told (a test's environment). Safe for concurrent use: the command
// runs in its own goroutine.
type Grace struct {
	extra atomic.Int64 // nanoseconds
	clean atomic.Bool
}

// Extend gives the running command d more than DefaultGrace after a signal.
func (g *Grace) Extend(d time.Duration) {
	if g != nil {
		g.extra.Store(int64(d))
	}
}

// StoppedCleanly says the command ended as asked by the signal.
func (g *Grace) StoppedCleanly() {
	if g != nil {
		g.clean.Store(true)
	}
}

// Stopped reports whether StoppedCleanly was called (Result's stopped).
func (g *Grace) Stopped() bool { return g != nil && g.clean.Load() }

// Duration is DefaultGrace plus what Extend gave (Wait's grace).
func (g *Grace) Duration() time.Duration {
	if g == nil {
		return DefaultGrace
	}
	return DefaultGrace + time.Duration(g.extra.Load())
}
