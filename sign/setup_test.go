package sign

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/trust"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// signingConfigJSON lists one Fulcio (fulcio; when "", one valid from 2099 only), one
// Rekor v1 log and no TSA.
func signingConfigJSON(fulcio string) []byte {
	start := "2020"
	if fulcio == "" {
		fulcio, start = "http://config.example/future-fulcio", "2099"
	}
	ca := `{"url": "` + fulcio + `", "majorApiVersion": 1, "validFor": {"start": "` + start + `-01-01T00:00:00Z"}, "operator": "a"}`
	return []byte(`{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [` + ca + `],
  "oidcUrls": [],
  "rekorTlogUrls": [{"url": "http://config.example/rekor", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "a"}],
  "tsaUrls": [],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": {"selector": "ANY"}
}`)
}

func writeTestFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSetupReadSigningConfig: a --signing-config file fills the services not named
// explicitly and is said through Followed; a trust envelope also names the trusted
// root unless one was; refusals are typed for the caller's flag hints.
func TestSetupReadSigningConfig(t *testing.T) {
	trJSON, err := os.ReadFile("../testdata/verify/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	env, err := trust.Export(trJSON, signingConfigJSON("http://config.example/fulcio"))
	if err != nil {
		t.Fatal(err)
	}
	rootOnly, err := trust.Export(trJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := writeTestFile(t, "signing_config.json", signingConfigJSON("http://config.example/fulcio"))
	envFile := writeTestFile(t, "trust.json", env)
	rootOnlyFile := writeTestFile(t, "root-only.json", rootOnly)
	noFulcio := writeTestFile(t, "no-fulcio.json", signingConfigJSON(""))
	missing := filepath.Join(t.TempDir(), "missing.json")
	fromConfig := Services{FulcioURL: "http://config.example/fulcio", RekorURL: "http://config.example/rekor", RekorVersion: 1}

	for _, tc := range []struct {
		name            string
		s               Setup
		want            Services // when no error
		wantRoot        string
		followed        bool
		err, errFile    error
		errAboutTheFile bool
	}{
		{name: "no file: as named", s: Setup{Services: Services{RekorVersion: 2}}, want: Services{RekorVersion: 2}},
		{name: "unknown Rekor API", s: Setup{Services: Services{RekorVersion: 3}, SigningConfig: plain}, err: ErrRekorVersion},
		{name: "plain config", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: plain}, want: fromConfig, followed: true},
		{name: "explicit Fulcio wins", s: Setup{Services: Services{FulcioURL: "http://mine/fulcio", RekorVersion: 1},
			Explicit: Explicit{Fulcio: true}, SigningConfig: plain},
			want: Services{FulcioURL: "http://mine/fulcio", RekorURL: "http://config.example/rekor", RekorVersion: 1}, followed: true},
		{name: "envelope brings the root", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: envFile},
			want: fromConfig, wantRoot: envFile, followed: true},
		{name: "a named root stays", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: envFile, TrustedRoot: "mine.json"},
			want: fromConfig, wantRoot: "mine.json", followed: true},
		{name: "envelope without a signing config", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: rootOnlyFile},
			err: ErrNoSigningConfig, errAboutTheFile: true},
		{name: "missing file", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: missing}, err: os.ErrNotExist, errAboutTheFile: true},
		{name: "no Fulcio in the config", s: Setup{Services: Services{RekorVersion: 1}, SigningConfig: noFulcio},
			err: trust.ErrNoFulcio, errAboutTheFile: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var said []Services
			tc.s.Followed = func(s Services) { said = append(said, s) }
			err := tc.s.ReadSigningConfig()
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("ReadSigningConfig: %v, want %v", err, tc.err)
			}
			var sce *SigningConfigError
			if errors.As(err, &sce) != tc.errAboutTheFile || tc.errAboutTheFile && sce.File != tc.s.SigningConfig {
				t.Errorf("error %v: want a SigningConfigError about %s: %v", err, tc.s.SigningConfig, tc.errAboutTheFile)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(tc.s.Services, tc.want) || tc.s.TrustedRoot != tc.wantRoot {
				t.Errorf("services %+v, root %q; want %+v, %q", tc.s.Services, tc.s.TrustedRoot, tc.want, tc.wantRoot)
			}
			if tc.followed != (len(said) == 1) || tc.followed && !reflect.DeepEqual(said[0], tc.want) {
				t.Errorf("Followed told %+v, want %+v: %v", said, tc.want, tc.followed)
			}
		})
	}
}

// TestSetupResolved: the resolved trust names the trusted root file; its signing
// config is followed only by a keyless run without a signing config file and not
// beside a file the caller named; then the defaults, and the log check.
func TestSetupResolved(t *testing.T) {
	parse := func(fulcio string) *root.SigningConfig {
		sc, err := root.NewSigningConfigFromJSON(signingConfigJSON(fulcio))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	tuf := func(fulcio string) *trust.Resolved {
		return &trust.Resolved{Material: &trust.Material{SigningConfig: parse(fulcio)}, Origin: trust.FromTUF, Repository: "https://tuf.example"}
	}
	defaults := Services{FulcioURL: DefaultFulcio, RekorURL: DefaultRekor, RekorVersion: 1}
	fromConfig := Services{FulcioURL: "http://config.example/fulcio", RekorURL: "http://config.example/rekor", RekorVersion: 1}
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		s        Setup
		r        *trust.Resolved
		want     Services
		wantRoot string
		err      error
		from     string // the SigningConfigError's From
	}{
		{name: "TUF: followed", r: tuf("http://config.example/fulcio"), want: fromConfig},
		{name: "a file named: not followed", r: &trust.Resolved{Material: &trust.Material{SigningConfig: parse("http://config.example/fulcio")},
			Origin: trust.FromFile, Path: "root.json"}, want: defaults, wantRoot: "root.json"},
		{name: "key mode: not followed", s: Setup{KeyMode: true}, r: tuf("http://config.example/fulcio"), want: defaults},
		{name: "a signing config file: not again", s: Setup{SigningConfig: "sc.json"}, r: tuf("http://config.example/fulcio"), want: defaults},
		{name: "no signing config: defaults", r: &trust.Resolved{Material: &trust.Material{}, Origin: trust.FromImport, Dir: "/cache"}, want: defaults},
		{name: "TUF config without Fulcio", r: tuf(""), err: trust.ErrNoFulcio, from: "TUF repository https://tuf.example"},
		{name: "imported config without Fulcio", r: &trust.Resolved{Material: &trust.Material{SigningConfig: parse("")},
			Origin: trust.FromImport, Dir: "/cache"}, err: trust.ErrNoFulcio, from: "/cache"},
		{name: "Rekor v2 without a TSA", s: Setup{Services: Services{RekorVersion: 2}},
			r: &trust.Resolved{Material: &trust.Material{}, Origin: trust.FromFile}, err: tlog.ErrNeedsTimestamp},
		{name: "key mode, Rekor v2 unlogged", s: Setup{Services: Services{RekorVersion: 2}, KeyMode: true},
			r:    &trust.Resolved{Material: &trust.Material{}, Origin: trust.FromFile},
			want: Services{FulcioURL: DefaultFulcio, RekorURL: DefaultRekor, RekorVersion: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Now = now
			err := tc.s.Resolved(tc.r)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Resolved: %v, want %v", err, tc.err)
			}
			var sce *SigningConfigError
			if errors.As(err, &sce) != (tc.from != "") || tc.from != "" && (sce.From != tc.from || sce.File != "" ||
				!strings.HasPrefix(err.Error(), "the signing config of "+tc.from+": ")) {
				t.Errorf("error %v: want a SigningConfigError from %q", err, tc.from)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(tc.s.Services, tc.want) || tc.s.TrustedRoot != tc.wantRoot {
				t.Errorf("services %+v, root %q; want %+v, %q", tc.s.Services, tc.s.TrustedRoot, tc.want, tc.wantRoot)
			}
		})
	}
}

// TestServicesString: the line a followed signing config is said in (the end-to-end
// tests look for it).
func TestServicesString(t *testing.T) {
	s := Services{FulcioURL: "https://f", RekorURL: "https://r", RekorVersion: 2, TSAURLs: []string{"https://t1", "https://t2"}}
	if got, want := s.String(), "Fulcio https://f, Rekor https://r (v2), 2 TSA(s) https://t1 https://t2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
