package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/attest"
)

// TestAttestPlanPredicate: the predicate type is resolved and the file read before any
// subject is hashed; only SLSA provenance may come without a file. Refusals say which
// input is at fault for the caller's flag names.
func TestAttestPlanPredicate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(good, []byte(`{"spdxVersion": "SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		pl       AttestPlan
		typ      string
		file     bool // the predicate is the file's contents
		err      error
		planWhat string // the PlanError's What, for a refusal that is one
	}{
		{name: "SLSA, generated", pl: AttestPlan{PredicateType: "slsaprovenance1"}, typ: attest.SLSAProvenanceV1},
		{name: "SPDX from a file", pl: AttestPlan{PredicateType: "spdx", PredicatePath: good}, typ: attest.SPDX, file: true},
		{name: "SPDX without a file", pl: AttestPlan{PredicateType: "spdx"}, typ: attest.SPDX, err: ErrPredicateRequired},
		{name: "unknown name", pl: AttestPlan{PredicateType: "sbom", PredicatePath: good}, err: ErrPlan, planWhat: "predicate type"},
		{name: "unknown URI", pl: AttestPlan{PredicateType: "https://example.com/custom/v1", PredicatePath: good},
			err: ErrPlan, planWhat: "predicate type"},
		{name: "unknown URI allowed", pl: AttestPlan{PredicateType: "https://example.com/custom/v1", AllowUnknownPredicate: true, PredicatePath: good},
			typ: "https://example.com/custom/v1", file: true},
		{name: "missing file", pl: AttestPlan{PredicateType: "cyclonedx", PredicatePath: filepath.Join(dir, "nope.json")}, err: ErrPlan, planWhat: "predicate file"},
		{name: "a directory", pl: AttestPlan{PredicateType: "cyclonedx", PredicatePath: dir}, err: ErrPlan, planWhat: "predicate file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, pred, err := tc.pl.Predicate()
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Predicate: %v, want %v", err, tc.err)
			}
			var pe *PlanError
			if errors.As(err, &pe) != (tc.planWhat != "") || tc.planWhat != "" && pe.What != tc.planWhat {
				t.Errorf("error %v: want a PlanError about %q", err, tc.planWhat)
			}
			if typ != tc.typ || (pred != nil) != tc.file {
				t.Errorf("= %q, %q; want %q, a predicate %v", typ, pred, tc.typ, tc.file)
			}
		})
	}
}

// TestAttestPlanCheck: digests need a name; no subject, a statement that would not
// build and a bundle directory that does not exist are refused before a certificate
// is asked; the bundle goes beside the first file, else in Dir.
func TestAttestPlanCheck(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	if err := os.WriteFile(art, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("payload"))
	digest := sum[:]
	for _, tc := range []struct {
		name      string
		pl        AttestPlan
		predicate []byte
		bundle    string
		err       error
		planWhat  string
	}{
		{name: "a file: beside it", pl: AttestPlan{Paths: []string{art}}, bundle: art + ".intoto.sigstore.json"},
		{name: "a digest: in Dir", pl: AttestPlan{Digests: [][]byte{digest}, Name: "app", Dir: dir},
			bundle: filepath.Join(dir, "sha256-"+hex.EncodeToString(digest)+".intoto.sigstore.json")},
		{name: "a named bundle", pl: AttestPlan{Paths: []string{art}, Bundle: filepath.Join(dir, "att.json")}, bundle: filepath.Join(dir, "att.json")},
		{name: "a digest without a name", pl: AttestPlan{Digests: [][]byte{digest}}, err: ErrDigestNeedsName},
		{name: "nothing", pl: AttestPlan{}, err: ErrNothingToAttest},
		{name: "no such bundle directory", pl: AttestPlan{Paths: []string{art}, Bundle: filepath.Join(dir, "no", "att.json")},
			err: ErrPlan, planWhat: "bundle path"},
		{name: "a predicate", pl: AttestPlan{Paths: []string{art}, PredicatePath: "sbom.json"}, predicate: []byte(`{"k": "v"}`),
			bundle: art + ".intoto.sigstore.json"},
		{name: "a predicate not an object", pl: AttestPlan{Paths: []string{art}, PredicatePath: "sbom.json"}, predicate: []byte(`[1, 2]`),
			err: ErrPlan, planWhat: "predicate file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subjects, err := tc.pl.Subjects(t.Context())
			if err == nil {
				var b string
				b, err = tc.pl.Check(subjects, attest.SPDX, tc.predicate)
				if b != tc.bundle {
					t.Errorf("bundle %q, want %q", b, tc.bundle)
				}
			}
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Subjects, Check: %v, want %v", err, tc.err)
			}
			var pe *PlanError
			if errors.As(err, &pe) != (tc.planWhat != "") || tc.planWhat != "" && pe.What != tc.planWhat {
				t.Errorf("error %v: want a PlanError about %q", err, tc.planWhat)
			}
			if tc.planWhat == "predicate file" && !strings.Contains(err.Error(), "sbom.json") {
				t.Errorf("error %v does not name the predicate file", err)
			}
		})
	}
}
