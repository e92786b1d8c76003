package trust

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// svc is one service entry: url, majorApiVersion, validFor start and end ("" for open), operator.
func svc(url string, v int, start, end, op string) string {
	vf := fmt.Sprintf(`"start": %q`, start)
	if end != "" {
		vf += fmt.Sprintf(`, "end": %q`, end)
	}
	return fmt.Sprintf(`{"url": %q, "majorApiVersion": %d, "validFor": {%s}, "operator": %q}`, url, v, vf, op)
}

func config(t *testing.T, ca, rekor, tsa []string, rekorSel, tsaSel string) *root.SigningConfig {
	t.Helper()
	js := fmt.Sprintf(`{"mediaType": %q, "caUrls": [%s], "oidcUrls": [], "rekorTlogUrls": [%s], "tsaUrls": [%s]`,
		root.SigningConfigMediaType02, strings.Join(ca, ","), strings.Join(rekor, ","), strings.Join(tsa, ","))
	if rekorSel != "" {
		js += `, "rekorTlogConfig": ` + rekorSel
	}
	if tsaSel != "" {
		js += `, "tsaConfig": ` + tsaSel
	}
	sc, err := root.NewSigningConfigFromJSON([]byte(js + "}"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const (
	past   = "2020-01-01T00:00:00Z"
	recent = "2026-01-01T00:00:00Z"
	ended  = "2025-01-01T00:00:00Z"
	future = "2027-01-01T00:00:00Z"
	anySel = `{"selector": "ANY"}`
	allSel = `{"selector": "ALL"}`
)

func TestSelect(t *testing.T) {
	fulcio := []string{svc("https://old-ca", 1, past, ended, "a"), svc("https://ca", 1, recent, "", "a"), svc("https://next-ca", 1, future, "", "a")}
	rekor1 := svc("https://rekor", 1, past, "", "a")
	rekor2 := svc("https://rekor-tiles", 2, recent, "", "a")
	tsas := []string{svc("https://tsa1", 1, past, "", "one"), svc("https://tsa2", 1, past, "", "two"), svc("https://tsa3", 1, past, "", "three"),
		svc("https://tsa-ended", 1, past, ended, "four"), svc("https://tsa-v2", 2, past, "", "five")}
	tests := []struct {
		name   string
		sc     *root.SigningConfig
		fulcio string
		rekor  string
		tsas   []string // want exactly these (sorted), or
		nTSA   int      // want this many of tsas[:3]
		rekorV uint32   // the chosen log's API version; 0 means 1
		err    string
	}{
		{name: "newest valid CA, v2 Rekor over v1, all TSAs", sc: config(t, fulcio, []string{rekor1, rekor2}, tsas, anySel, allSel),
			fulcio: "https://ca", rekor: "https://rekor-tiles", rekorV: 2, tsas: []string{"https://tsa1", "https://tsa2", "https://tsa3"}},
		{name: "EXACT 2", sc: config(t, fulcio, []string{rekor1}, tsas, anySel, `{"selector": "EXACT", "count": 2}`),
			fulcio: "https://ca", rekor: "https://rekor", nTSA: 2},
		{name: "ANY", sc: config(t, fulcio, []string{rekor1}, tsas, anySel, anySel), fulcio: "https://ca", rekor: "https://rekor", nTSA: 1},
		{name: "no TSAs", sc: config(t, fulcio, []string{rekor1}, nil, anySel, ""), fulcio: "https://ca", rekor: "https://rekor"},
		{name: "EXACT more than there are", sc: config(t, fulcio, []string{rekor1}, tsas, anySel, `{"selector": "EXACT", "count": 4}`),
			err: "count 4"},
		{name: "EXACT 0", sc: config(t, fulcio, []string{rekor1}, tsas, anySel, `{"selector": "EXACT"}`), err: "count of at least 1"},
		{name: "no TSA selector", sc: config(t, fulcio, []string{rekor1}, tsas, anySel, ""), err: "tsaConfig: no selector"},
		{name: "same operator counts once", sc: config(t, fulcio, []string{rekor1},
			[]string{svc("https://a", 1, past, "", "x"), svc("https://b", 1, past, "", "x")}, anySel, `{"selector": "EXACT", "count": 2}`), err: "count 2"},
		{name: "only Rekor v2", sc: config(t, fulcio, []string{rekor2}, nil, anySel, ""), fulcio: "https://ca", rekor: "https://rekor-tiles", rekorV: 2},
		{name: "Rekor v1 expired, v2 valid", sc: config(t, fulcio, []string{svc("https://rekor", 1, past, ended, "a"), rekor2}, nil, anySel, ""),
			fulcio: "https://ca", rekor: "https://rekor-tiles", rekorV: 2},
		{name: "Rekor v2 not yet valid, v1 valid", sc: config(t, fulcio, []string{rekor1, svc("https://rekor-tiles", 2, future, "", "a")}, nil, anySel, ""),
			fulcio: "https://ca", rekor: "https://rekor"},
		{name: "Rekor v3 only", sc: config(t, fulcio, []string{svc("https://rekor3", 3, past, "", "a")}, nil, anySel, ""), err: "Rekor"},
		{name: "Rekor not yet valid", sc: config(t, fulcio, []string{svc("https://rekor", 1, future, "", "a")}, nil, anySel, ""), err: "Rekor"},
		{name: "two Rekor logs selected", sc: config(t, fulcio, []string{rekor1, svc("https://rekor-b", 1, past, "", "b")}, nil, allSel, ""), err: "selects 2 Rekor logs"},
		{name: "no valid CA", sc: config(t, []string{svc("https://old-ca", 1, past, ended, "a")}, []string{rekor1}, nil, anySel, ""), err: "no Fulcio CA"},
		{name: "CA of an unknown API version", sc: config(t, []string{svc("https://ca3", 3, past, "", "a")}, []string{rekor1}, nil, anySel, ""), err: "no Fulcio CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.sc, now)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("selected %+v, want an error", got)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %q, want it to mention %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantV := tt.rekorV
			if wantV == 0 {
				wantV = 1
			}
			if got.FulcioURL != tt.fulcio || got.RekorURL != tt.rekor || got.RekorVersion != wantV {
				t.Fatalf("fulcio %q rekor %q v%d", got.FulcioURL, got.RekorURL, got.RekorVersion)
			}
			if tt.tsas != nil {
				s := slices.Sorted(slices.Values(got.TSAURLs))
				if !slices.Equal(s, tt.tsas) {
					t.Fatalf("TSAs %v, want %v", s, tt.tsas)
				}
				return
			}
			if len(got.TSAURLs) != tt.nTSA {
				t.Fatalf("%d TSAs %v, want %d", len(got.TSAURLs), got.TSAURLs, tt.nTSA)
			}
			seen := map[string]bool{}
			for _, u := range got.TSAURLs {
				if seen[u] || !slices.Contains([]string{"https://tsa1", "https://tsa2", "https://tsa3"}, u) {
					t.Fatalf("TSAs %v: a duplicate, an ended or a v2 TSA", got.TSAURLs)
				}
				seen[u] = true
			}
		})
	}
}

// TestSelectValidityEdges: validFor is inclusive at both ends.
func TestSelectValidityEdges(t *testing.T) {
	start, end := "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
	sc := config(t, []string{svc("https://ca", 1, start, end, "a")}, nil, nil, "", "")
	for _, tc := range []struct {
		at string
		ok bool
	}{{"2026-02-28T23:59:59Z", false}, {start, true}, {end, true}, {"2026-04-01T00:00:01Z", false}} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		_, err := Select(sc, at)
		if (err == nil) != tc.ok {
			t.Errorf("at %s: err %v, want ok=%v", tc.at, err, tc.ok)
		}
	}
}
