package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// noCgo, set by nocgo_test.go in a build without cgo, is why runMain refuses to run:
// the cgo-only key-mode tests would otherwise be silently missing.
var noCgo string

// keyIDFrom returns the key id from cachet's "key id: " line (key-mode tests, cgo or not).
func keyIDFrom(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if id, ok := strings.CutPrefix(l, "key id: "); ok {
			return id
		}
	}
	t.Fatalf("no key id in %q", stderr)
	return ""
}

func auditEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}
