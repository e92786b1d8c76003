package names

import "testing"

// TestShown: a name with a control character, a Unicode line separator or bytes that
// are not UTF-8 is Go-quoted, so it cannot start a workflow command on a new log line;
// an ordinary name is left as it is. (Moved from cmd/cachet's TestNamesWithControlCharacters.)
func TestShown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pipe\n::warning::forged", `"pipe\n::warning::forged"`},
		{"dist/app-1.2.tar.gz", "dist/app-1.2.tar.gz"},
		{"a\u2028b\xff", `"a\u2028b\xff"`},
		{"tab\there", `"tab\there"`},
		{"café.tar.gz", "café.tar.gz"},
		{"", ""},
	} {
		if got := Shown(tc.in); got != tc.want {
			t.Errorf("Shown(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHasControl(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"app.tar.gz", false},
		{"a\nb", true},
		{"a\rb", true},
		{"a\x00b", true},
		{"a\u2029b", true},
		{"a\u0085b", true},
		{"ünïcode", false},
	} {
		if got := HasControl(tc.in); got != tc.want {
			t.Errorf("HasControl(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
