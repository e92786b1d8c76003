package strictdoc

import (
	"strings"
	"testing"
)

type rule struct {
	Refs []string `json:"refs"`
	Deny []string `json:"digests-deny,omitempty"`
}

type doc struct {
	Tenants map[string]struct {
		Rules []rule `json:"rules"`
	} `json:"tenants"`
	Note string `json:"note,omitempty"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"plain", "tenants:\n  a:\n    rules:\n      - refs: [x]\n", ""},
		{"json", `{"tenants": {"a": {"rules": [{"refs": ["x"]}]}}}`, ""},
		{"duplicate top key", "note: a\nnote: b\ntenants: {}\n", "already set"},
		{"duplicate nested key", "tenants:\n  a:\n    rules:\n      - refs: [x]\n        refs: [y]\n", "already set"},
		{"case variant top", "Note: a\n", `unknown key "Note"`},
		{"case variant nested", "tenants:\n  a:\n    rules:\n      - REFS: [x]\n", `unknown key "REFS" in tenants.a.rules[0]`},
		{"unknown", "tenants:\n  a:\n    rules:\n      - refs: [x]\n        digest-deny: [y]\n", `unknown key "digest-deny"`},
		{"second document", "tenants: {}\n---\nnote: x\n", "more than one document"},
		{"json duplicate", `{"note": "a", "note": "b"}`, "already set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.in), &d)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Decode(%q) = %v, want %q", tc.in, err, tc.err)
			}
		})
	}
}
