package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
)

const vectorRoot = "../testdata/verify/trusted_root.json"

var stackConfig = []byte(`{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [{"url": "http://127.0.0.1:47311", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "local"}],
  "oidcUrls": [],
  "rekorTlogUrls": [{"url": "http://127.0.0.1:47314", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "local"}],
  "tsaUrls": [],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": {"selector": "ANY"}
}`)

func exportVector(t *testing.T) (env, tr []byte) {
	t.Helper()
	tr, err := os.ReadFile(vectorRoot)
	if err != nil {
		t.Fatal(err)
	}
	env, err = Export(tr, stackConfig)
	if err != nil {
		t.Fatal(err)
	}
	return env, tr
}

// TestEnvelopeRoundTrip: export, parse and import give back the same trusted root and
// signing config; a re-indented envelope still parses.
func TestEnvelopeRoundTrip(t *testing.T) {
	env, tr := exportVector(t)
	m, err := Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	if m.TrustedRoot == nil || m.SigningConfig == nil {
		t.Fatal("a member is missing")
	}
	if len(m.TrustedRoot.RekorLogs()) != 1 || len(m.SigningConfig.RekorLogURLs()) != 1 {
		t.Fatal("members lost content")
	}
	dir := t.TempDir()
	paths, err := Import(m, dir)
	if err != nil || len(paths) != 2 {
		t.Fatalf("import: %v %v", paths, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, TrustedRootFile))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := compact(tr)
	if g, _ := compact(got); !bytes.Equal(g, want) {
		t.Fatal("imported trusted root differs from the exported one")
	}
	if _, err := ReadFile(filepath.Join(dir, SigningConfigFile)); err != nil {
		t.Fatal(err)
	}
	var re bytes.Buffer
	json.Indent(&re, env, "  ", "\t")
	if _, err := Parse(re.Bytes()); err != nil {
		t.Fatalf("re-indented envelope: %v", err)
	}
	// Without a signing config.
	env2, err := Export(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := Parse(env2); err != nil || m.SigningConfig != nil {
		t.Fatalf("%v %v", m, err)
	}
}

// TestEnvelopeRefuses: an edited member, a removed member, a digest-less envelope, an
// unknown media type and members that are not what they claim are refused.
func TestEnvelopeRefuses(t *testing.T) {
	env, tr := exportVector(t)
	edit := func(f func(e *Envelope)) []byte {
		var e Envelope
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	for name, tc := range map[string]struct {
		data []byte
		is   error
		msg  string
	}{
		"rekor url edited":         {data: bytes.Replace(env, []byte("127.0.0.1:47314"), []byte("127.0.0.1:47399"), 1), is: ErrDigestMismatch},
		"signing config removed":   {data: edit(func(e *Envelope) { e.SigningConfig = nil }), is: ErrDigestMismatch},
		"no digests":               {data: edit(func(e *Envelope) { e.Digests = nil }), is: ErrDigestMismatch},
		"no trusted root":          {data: edit(func(e *Envelope) { e.TrustedRoot = nil }), msg: "no trusted root"},
		"unknown media type":       {data: []byte(`{"mediaType": "application/json"}`), msg: "media type"},
		"not json":                 {data: []byte("garbage"), msg: "not a trust envelope"},
		"trusted root that is not": {data: []byte(`{"mediaType": "` + TrustedRootMediaType + `", "tlogs": 7}`), msg: "trusted root"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("%v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v, want %q", err, tc.msg)
			}
		})
	}
	if _, err := Export(tr, []byte(`{"mediaType": "nope"}`)); err == nil {
		t.Fatal("exported a bad signing config")
	}
	if _, err := Export([]byte(`{}`), nil); err == nil {
		t.Fatal("exported a bad trusted root")
	}
}

func FuzzParse(f *testing.F) {
	tr, err := os.ReadFile(vectorRoot)
	if err != nil {
		f.Fatal(err)
	}
	env, err := Export(tr, stackConfig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add(tr)
	f.Add(stackConfig)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err == nil && m.TrustedRoot == nil && m.SigningConfig == nil {
			t.Fatal("parsed to nothing without an error")
		}
	})
}

func TestReadFileRefusesSpecialFilesAndNeverQuotes(t *testing.T) {
	td := t.TempDir()
	tok := filepath.Join(td, "token")
	const secret = "eyJhbGciOiJSUzI1NiJ9.SECRET"
	for name, data := range map[string]string{
		"raw token":    secret,
		"media type":   `{"mediaType": "` + secret + `"}`,
		"trusted root": `{"mediaType": "` + TrustedRootMediaType + `", "tlogs": "` + secret + `"}`,
		"envelope":     `{"mediaType": "` + MediaType + `", "trustedRoot": "` + secret + `"}`,
	} {
		if err := os.WriteFile(tok, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(tok)
		if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "eyJ") {
			t.Errorf("%s: ReadFile = %v, want an error that does not quote the file", name, err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile("/dev/zero"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, regfile.ErrNotRegular) {
			t.Fatalf("ReadFile(/dev/zero) = %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile(/dev/zero) still reading after 5 s")
	}
}

// TestExportFiles: the files are read as Export's inputs; a file that cannot be read
// is an ExportFileError saying which, and what Export refuses is not one.
func TestExportFiles(t *testing.T) {
	want, _ := exportVector(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "signing_config.json")
	notRoot := filepath.Join(dir, "not-root.json")
	for p, b := range map[string][]byte{sc: stackConfig, notRoot: []byte(`{"k": "v"}`)} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		name          string
		root, config  string
		fileErr       bool // an ExportFileError
		signingConfig bool // about the signing config
		err           bool
	}{
		{name: "both", root: vectorRoot, config: sc},
		{name: "no trusted root", root: missing, config: sc, err: true, fileErr: true},
		{name: "a directory as the trusted root", root: dir, err: true, fileErr: true},
		{name: "no signing config", root: vectorRoot, config: missing, err: true, fileErr: true, signingConfig: true},
		{name: "not a trusted root", root: notRoot, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExportFiles(tc.root, tc.config)
			if (err != nil) != tc.err {
				t.Fatalf("ExportFiles: %v, want an error: %v", err, tc.err)
			}
			var fe *ExportFileError
			if errors.As(err, &fe) != tc.fileErr || tc.fileErr && fe.SigningConfig != tc.signingConfig {
				t.Errorf("error %v: want an ExportFileError %v about the signing config %v", err, tc.fileErr, tc.signingConfig)
			}
			if err == nil && !bytes.Equal(got, want) {
				t.Errorf("envelope differs from Export's:\n%s\nwant\n%s", got, want)
			}
		})
	}
	if env, err := ExportFiles(vectorRoot, ""); err != nil || bytes.Contains(env, []byte("signingConfig")) {
		t.Errorf("no signing config: %v, %s", err, env)
	}
}
