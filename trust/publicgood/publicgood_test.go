package publicgood

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestSnapshotIsTheModuleFile: the embedded file is byte-equal to the one the module
// ships at Version, so the README's provenance is true. `go mod download` finds it in
// the module cache (the module is in go.mod) or fetches it through GOPROXY.
func TestSnapshotIsTheModuleFile(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", Module+"@"+Version).Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s failed, so the source file cannot be compared: %v", Module, Version, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s@%s gave no directory (%s): %v", Module, Version, m.Error, err)
	}
	want, err := os.ReadFile(filepath.Join(m.Dir, filepath.FromSlash(Path)))
	if err != nil {
		t.Fatalf("the module no longer ships %s: %v", Path, err)
	}
	if !bytes.Equal(TrustedRootJSON, want) {
		t.Fatalf("trusted_root.json differs from %s@%s %s: run scripts/publicgood-root", Module, Version, Path)
	}
}

// TestNewestKey: NewestKey (and the README's date) is the latest validFor.start in the
// snapshot, and the snapshot parses as a trusted root.
func TestNewestKey(t *testing.T) {
	if _, err := root.NewTrustedRootFromJSON(TrustedRootJSON); err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Tlogs, Ctlogs []struct {
			PublicKey struct{ ValidFor struct{ Start time.Time } } `json:"publicKey"`
		}
		CertificateAuthorities, TimestampAuthorities []struct {
			ValidFor struct{ Start time.Time } `json:"validFor"`
		}
	}
	if err := json.Unmarshal(TrustedRootJSON, &tr); err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	for _, l := range append(tr.Tlogs, tr.Ctlogs...) {
		newest = later(newest, l.PublicKey.ValidFor.Start)
	}
	for _, a := range append(tr.CertificateAuthorities, tr.TimestampAuthorities...) {
		newest = later(newest, a.ValidFor.Start)
	}
	if !newest.Equal(NewestKey) {
		t.Fatalf("newest key starts %s, NewestKey says %s: update it and README.md", newest, NewestKey)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{Module, Version, Path, License, NewestKey.Format(time.DateOnly)} {
		if !bytes.Contains(readme, []byte(s)) {
			t.Errorf("README.md does not mention %s", s)
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
