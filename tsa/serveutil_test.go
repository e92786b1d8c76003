package tsa

import "testing"

// TestOrdinal: a StatefulSet pod's name gives its replica id; anything else is refused.
func TestOrdinal(t *testing.T) {
	for host, want := range map[string]int{"cachet-tsa-0": 0, "cachet-tsa-2": 2, "tsa-65535": 65535} {
		if got, err := Ordinal(host); err != nil || got != want {
			t.Errorf("Ordinal(%q) = %d, %v; want %d", host, got, err, want)
		}
	}
	for _, host := range []string{"", "cachet", "cachet-tsa-", "cachet-tsa-x", "cachet-tsa-01", "tsa-65536", "tsa-+1"} {
		if _, err := Ordinal(host); err == nil {
			t.Errorf("Ordinal(%q) accepted", host)
		}
	}
}
