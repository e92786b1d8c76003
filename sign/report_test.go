package sign

import (
	"errors"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	refusal := errors.New("policy: refused")
	outs := []Outcome{
		{Result: Result{Subject: Subject{Name: "a", Path: "a", Bundle: "a.sigstore.json"}, LogIndex: 7}},
		{Result: Result{Subject: Subject{Name: "b", Path: "b", Bundle: "b.sigstore.json"}, LogIndex: 3}, Kept: true},
		{Result: Result{Subject: Subject{Name: "sha", Bundle: "sha.sigstore.json"}, LogIndex: 9}},
		{Result: Result{Subject: Subject{Name: "c"}, Err: errors.New("rekor: 503")}},
		{Result: Result{Subject: Subject{Name: "d"}, Err: refusal}},
	}
	isRefusal := func(err error) bool { return errors.Is(err, refusal) }
	for _, tc := range []struct {
		name           string
		outs           []Outcome
		isRefusal      func(error) bool
		bundles        string
		indexes        string
		artifacts      string
		failed         int
		refused        int
		counts         string
		refusedErr     bool
		errSays, noErr string
	}{
		{"mixed, refusals told apart", outs, isRefusal, "a.sigstore.json b.sigstore.json sha.sigstore.json", "7 3 9", "a b", 1, 1,
			"2 signed, 1 kept, 2 failed of 5", true, "1 of 5 artifacts refused by the signing policy (the others' bundles are valid):\n  d: policy: refused\n  c: rekor: 503", ""},
		{"mixed, no refusal sorter", outs, nil, "a.sigstore.json b.sigstore.json sha.sigstore.json", "7 3 9", "a b", 2, 0,
			"2 signed, 1 kept, 2 failed of 5", false, "2 of 5 artifacts not signed (the others' bundles are valid):\n  c: rekor: 503\n  d: policy: refused", ""},
		{"all signed", outs[:3], isRefusal, "a.sigstore.json b.sigstore.json sha.sigstore.json", "7 3 9", "a b", 0, 0,
			"2 signed, 1 kept, 0 failed of 3", false, "", "no error"},
		{"nothing", nil, nil, "", "", "", 0, 0, "0 signed, 0 kept, 0 failed of 0", false, "", "no error"},
	} {
		r := NewReport(tc.outs, tc.isRefusal)
		if got := strings.Join(r.Bundles, " "); got != tc.bundles {
			t.Errorf("%s: bundles %q, want %q", tc.name, got, tc.bundles)
		}
		if got := strings.Join(r.Indexes, " "); got != tc.indexes {
			t.Errorf("%s: indexes %q, want %q", tc.name, got, tc.indexes)
		}
		if got := strings.Join(r.Artifacts, " "); got != tc.artifacts {
			t.Errorf("%s: artifacts %q, want %q", tc.name, got, tc.artifacts)
		}
		if len(r.Failed) != tc.failed || len(r.Refused) != tc.refused || len(r.Signed) != len(r.Bundles) {
			t.Errorf("%s: %d failed, %d refused, %d signed", tc.name, len(r.Failed), len(r.Refused), len(r.Signed))
		}
		if got := r.Counts(); got != tc.counts {
			t.Errorf("%s: counts %q, want %q", tc.name, got, tc.counts)
		}
		err := r.Err()
		switch {
		case tc.noErr != "" && err != nil:
			t.Errorf("%s: err %v, want none", tc.name, err)
		case tc.noErr == "" && (err == nil || err.Error() != tc.errSays):
			t.Errorf("%s: err %v\nwant %s", tc.name, err, tc.errSays)
		case errors.Is(err, ErrRefused) != tc.refusedErr:
			t.Errorf("%s: a refusal %v, want %v", tc.name, errors.Is(err, ErrRefused), tc.refusedErr)
		}
	}
}

func TestDescribeOutcome(t *testing.T) {
	keyless := &Pipeline{Certificate: []byte{1}}
	key := &Pipeline{KeyHint: "kid"}
	s := Subject{Name: "app", Bundle: "app.sigstore.json"}
	for _, tc := range []struct {
		p    *Pipeline
		o    Outcome
		want string
	}{
		{keyless, Outcome{Result: Result{Subject: s, LogIndex: 5}}, "signed app -> app.sigstore.json (log index 5)"},
		{key, Outcome{Result: Result{Subject: s, LogIndex: -1}}, "signed app -> app.sigstore.json (key kid)"},
		{keyless, Outcome{Result: Result{Subject: s, LogIndex: 5}, Replaced: "another identity"}, "replaced app.sigstore.json: another identity\nsigned app -> app.sigstore.json (log index 5)"},
		{keyless, Outcome{Result: Result{Subject: s, LogIndex: 4}, Kept: true}, "kept app: app.sigstore.json verifies (log index 4)"},
		{key, Outcome{Result: Result{Subject: s, Err: errors.New("tsa: down")}}, "not signed app: tsa: down"},
	} {
		if got := tc.p.Describe(tc.o); got != tc.want {
			t.Errorf("Describe = %q, want %q", got, tc.want)
		}
	}
}
