package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestTuneGC: GOGC 400 unless GOGC is set, which the runtime has already applied.
func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	for _, tc := range []struct {
		gogc string
		want int
	}{
		{"", 400},
		{"100", 100},
		{"off", 100},
	} {
		debug.SetGCPercent(100)
		TuneGC(tc.gogc)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tc.gogc, got, tc.want)
		}
	}
}

// TestStartCPUProfile: no path, no profile; a path gets a profile when stopped; a path
// that cannot be created is said on stderr and the run goes on.
func TestStartCPUProfile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		path    string
		file    bool
		message string
	}{
		{name: "none"},
		{name: "profile", path: filepath.Join(dir, "cpu.pprof"), file: true},
		{name: "unwritable", path: filepath.Join(dir, "missing", "cpu.pprof"), message: "cachet: CACHET_CPU_PROFILE:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			StartCPUProfile(tc.path, &stderr)()
			if tc.message == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.message) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.message)
			}
			if tc.path == "" {
				return
			}
			st, err := os.Stat(tc.path)
			if tc.file && (err != nil || st.Size() == 0) {
				t.Errorf("profile %s: %v, %v", tc.path, st, err)
			}
			if !tc.file && err == nil {
				t.Errorf("profile %s written", tc.path)
			}
		})
	}
}
