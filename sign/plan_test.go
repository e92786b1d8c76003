package sign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanSubjects(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.bin"), filepath.Join(dir, "sub", "a.bin")
	os.MkdirAll(filepath.Dir(b), 0o755)
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sums := []Checksum{{Name: "dist/tool.tar.gz", Digest: []byte{1}}}
	digests := [][]byte{{0xab, 0x12}}
	for _, tc := range []struct {
		name    string
		plan    Plan
		bundles []string // want, in order
		what    string   // want a PlanError about this ("" and err: any plan error)
		err     string
	}{
		{name: "beside each artifact", plan: Plan{Paths: []string{a, b}}, bundles: []string{a + ".sigstore.json", b + ".sigstore.json"}},
		{name: "one bundle path", plan: Plan{Paths: []string{a}, Bundle: filepath.Join(dir, "x.json")}, bundles: []string{filepath.Join(dir, "x.json")}},
		{name: "checksums beside their file", plan: Plan{Checksums: sums, ChecksumsPath: filepath.Join(dir, "SHA256SUMS")},
			bundles: []string{filepath.Join(dir, "tool.tar.gz.sigstore.json")}},
		{name: "digests in the working directory", plan: Plan{Digests: digests}, bundles: []string{"ab12.sigstore.json"}},
		{name: "everything in the output dir", plan: Plan{Paths: []string{a}, Checksums: sums, ChecksumsPath: "x/SUMS", Digests: digests, OutputDir: out},
			bundles: []string{filepath.Join(out, "a.bin.sigstore.json"), filepath.Join(out, "tool.tar.gz.sigstore.json"), filepath.Join(out, "ab12.sigstore.json")}},
		{name: "nothing", plan: Plan{}, what: "", err: "nothing to sign"},
		{name: "one bundle for two", plan: Plan{Paths: []string{a, b}, Bundle: "x.json"}, what: "bundle path", err: "names one bundle, but 2"},
		{name: "two artifacts, one bundle in the output dir", plan: Plan{Paths: []string{a, b}, OutputDir: out}, what: "", err: "would both write"},
		{name: "output dir missing", plan: Plan{Paths: []string{a}, OutputDir: filepath.Join(dir, "nope")}, what: "output directory", err: "is not a directory"},
		{name: "missing artifact", plan: Plan{Paths: []string{filepath.Join(dir, "gone")}}, what: "artifact", err: "no such file"},
		{name: "a directory is no artifact", plan: Plan{Paths: []string{dir}}, what: "artifact", err: "only regular files are artifacts"},
		{name: "control character", plan: Plan{Checksums: []Checksum{{Name: "x\n::add-mask::y", Digest: []byte{1}}}, ChecksumsPath: "S"},
			what: "checksums entry", err: "control character"},
		{name: "entry naming no file", plan: Plan{Checksums: []Checksum{{Name: "..", Digest: []byte{1}}}, ChecksumsPath: "S"}, what: "checksums", err: "names no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.plan.Subjects()
			if tc.err != "" {
				var pe *PlanError
				if !errors.As(err, &pe) || !errors.Is(err, ErrPlan) || pe.What != tc.what || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v (%#v), want a PlanError about %q saying %q", err, pe, tc.what, tc.err)
				}
				if strings.Contains(err.Error(), "--") {
					t.Fatalf("a library error names a flag: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var bundles []string
			for _, s := range got {
				bundles = append(bundles, s.Bundle)
			}
			if strings.Join(bundles, "|") != strings.Join(tc.bundles, "|") {
				t.Fatalf("bundles %v, want %v", bundles, tc.bundles)
			}
		})
	}
	if _, err := (Plan{Bundle: "x.json"}).Subjects(); !errors.Is(err, ErrNothingToSign) {
		t.Errorf("an empty plan: %v, want ErrNothingToSign", err)
	}
}

func TestExpandDirs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.bin", "a/c.bin", "a/c.bin.sigstore.json", ".hidden", ".git/x"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	got, err := ExpandDirs([]string{dir, "not-a-dir.bin"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a/c.bin"), filepath.Join(dir, "b.bin"), "not-a-dir.bin"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %v, want %v", got, want)
	}
	empty := filepath.Join(dir, "only-bundles")
	os.MkdirAll(filepath.Join(empty, ".cache"), 0o755)
	os.WriteFile(filepath.Join(empty, "x.sigstore.json"), nil, 0o644)
	os.WriteFile(filepath.Join(empty, ".cache", "y"), nil, 0o644)
	if _, err := ExpandDirs([]string{empty}); !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "holds no file to sign") {
		t.Fatalf("a directory with only bundles and hidden entries: %v", err)
	}
}

func TestServices(t *testing.T) {
	s := Services{}
	s.Defaults()
	if s.FulcioURL != DefaultFulcio || s.RekorURL != DefaultRekor || s.RekorVersion != 1 {
		t.Fatalf("defaults: %+v", s)
	}
	if err := (&Services{RekorVersion: 3}).Check(true); !errors.Is(err, ErrRekorVersion) {
		t.Fatalf("version 3: %v", err)
	}
	v2 := Services{RekorURL: "http://x", RekorVersion: 2}
	if err := v2.Check(true); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Fatalf("v2 without a TSA, logged: %v", err)
	}
	if err := v2.Check(false); err != nil {
		t.Fatalf("v2 without a TSA, nothing logged (key mode without upload): %v", err)
	}
	if err := Refuse(errors.New("no")); !errors.Is(err, ErrRefused) || err.Error() != "no" {
		t.Fatalf("Refuse: %v", err)
	}
}
