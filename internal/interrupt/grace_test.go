package interrupt

import (
	"testing"
	"time"
)

// TestGrace: the default grace unless extended, stopped only when told; a nil *Grace
// is the default and ignores what it is told.
func TestGrace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		g       *Grace
		extend  time.Duration
		stop    bool
		want    time.Duration
		stopped bool
	}{
		{name: "zero", g: &Grace{}, want: DefaultGrace},
		{name: "extended", g: &Grace{}, extend: 12 * time.Second, want: DefaultGrace + 12*time.Second},
		{name: "stopped cleanly", g: &Grace{}, stop: true, want: DefaultGrace, stopped: true},
		{name: "nil", extend: time.Hour, stop: true, want: DefaultGrace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.extend != 0 {
				tc.g.Extend(tc.extend)
			}
			if tc.stop {
				tc.g.StoppedCleanly()
			}
			if got := tc.g.Duration(); got != tc.want {
				t.Errorf("Duration() = %s, want %s", got, tc.want)
			}
			if got := tc.g.Stopped(); got != tc.stopped {
				t.Errorf("Stopped() = %v, want %v", got, tc.stopped)
			}
		})
	}
}
