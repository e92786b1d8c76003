package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cachet-sign/cachet/trust/publicgood"
)

// DirEnv names the environment variable that moves the trust cache.
const DirEnv = "CACHET_TRUST_DIR"

// StaleAfter is how old an imported trusted root (cachet trust import) may be before
// cachet warns. An import has no expiry of its own (a TUF cache has: its metadata's);
// a week is short next to the overlap Sigstore gives a key rotation.
const StaleAfter = 7 * 24 * time.Hour

// DefaultDir is the trust cache TUF refreshes and `cachet trust import` write and
// verify and sign read: $CACHET_TRUST_DIR, else $XDG_CACHE_HOME/cachet/trust, else
// $HOME/.cache/cachet/trust; empty when none of them is set.
func DefaultDir(getenv func(string) string) string {
	if d := getenv(DirEnv); d != "" {
		return d
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cachet", "trust")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "cachet", "trust")
	}
	return ""
}

// Origin says where a resolved trusted root came from.
type Origin string

const (
	FromFile     Origin = "file"     // named explicitly (--trusted-root, an envelope)
	FromImport   Origin = "import"   // the trust cache, filled by `cachet trust import`
	FromTUF      Origin = "tuf"      // a TUF repository: its verified cache, or a refresh
	FromEmbedded Origin = "embedded" // the public-good snapshot built into cachet
)

// importMarker, in the trust cache, says its files came from `cachet trust import`.
const importMarker = "imported.json"

// MarkImported records that dir's trusted root and signing config were imported (from
// the file named), so that commands use them as they are instead of asking a TUF
// repository, until a TUF refresh replaces them.
func MarkImported(dir, from string, now time.Time) error {
	b, err := json.Marshal(struct {
		From       string    `json:"from"`
		ImportedAt time.Time `json:"importedAt"`
	}{from, now.UTC()})
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, importMarker), append(b, '\n'))
}

// ImportFile unpacks the trust file at path (a trust envelope or a trusted_root.json,
// see ReadFile) into dir (Import) and marks dir imported from it as of now
// (MarkImported), so that commands use it as it is. It returns the paths written.
func ImportFile(path, dir string, now time.Time) ([]string, error) {
	m, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	paths, err := Import(m, dir)
	if err == nil {
		err = MarkImported(dir, path, now)
	}
	if err != nil {
		return nil, fmt.Errorf("import into %s: %w", dir, err)
	}
	return paths, nil
}

// ResolveOptions say where to look for a trusted root, in order: File; the trust cache
// in Dir when `cachet trust import` filled it and no repository was named; the TUF
// repository TUF names (its cache in Dir while its metadata is valid, else a refresh);
// then, only when Embedded is set and the repository cannot be reached, the trusted
// root it last served, else (public-good trust only) the embedded snapshot.
type ResolveOptions struct {
	File string // a trusted_root.json or a trust envelope; always wins when set
	Dir  string // the trust cache (DefaultDir)
	// TUF names the repository (the zero value: public-good); its CacheDir is Dir.
	TUF RefreshOptions
	// TUFNamed: the user named a repository (--tuf-url, --tuf-root): an imported cache
	// is then not used.
	TUFNamed bool
	// Embedded allows verification's fallbacks when the repository is unreachable.
	// Signing never sets it: it would sign against keys that may have been retired.
	Embedded bool
	// RefuseStale makes a stale import a *StaleError instead of a warning. Signing
	// sets it: a key Sigstore rotated since would make a bundle nobody can verify, or
	// trust one it no longer should.
	RefuseStale bool
	Now         func() time.Time
	// StaleAfter is the age that makes an imported cache stale; StaleAfter when zero.
	StaleAfter time.Duration
}

// Resolved is a trusted root (and the signing config beside it, if any) and where it
// came from.
type Resolved struct {
	*Material
	Origin     Origin
	Path       string // the file read; empty for TUF and the embedded snapshot
	Dir        string // the cache directory looked at (empty when none)
	Repository string // FromTUF, FromEmbedded: the TUF repository
	Refreshed  bool   // FromTUF: fetched by this call
	// Expires: FromTUF, the expiry of the cached TUF metadata.
	Expires time.Time
	Age     time.Duration // FromImport: time since the import
	// Stale: FromImport older than StaleAfter; FromTUF with expired metadata (the
	// repository was unreachable and verification went on with what it last served).
	Stale bool
	// Unreachable: why the repository was not used (stale FromTUF, FromEmbedded).
	Unreachable error
}

// Errors Resolve returns.
var (
	ErrNoTrustedRoot = errors.New("no trusted root")
	ErrNoCacheDir    = errors.New("no trust cache directory: set " + DirEnv + " or HOME")
)

// StaleError is an imported trust cache too old to sign with (ResolveOptions.RefuseStale).
type StaleError struct {
	Dir string
	Age time.Duration
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the trust cache %s is stale (imported %s ago): signing needs current trust", e.Dir, e.Age.Round(time.Hour))
}

// Resolve finds the trusted root o allows. A cache whose trusted_root.json does not
// parse is an error, not a reason to fall back: a damaged cache should be noticed.
func Resolve(o ResolveOptions) (*Resolved, error) {
	if o.File != "" {
		m, err := ReadFile(o.File)
		if err != nil {
			return nil, err
		}
		if m.TrustedRoot == nil {
			return nil, fmt.Errorf("%s holds a signing config, not a trusted root", o.File)
		}
		return &Resolved{Material: m, Origin: FromFile, Path: o.File, Dir: o.Dir}, nil
	}
	if o.Dir == "" {
		return nil, ErrNoCacheDir
	}
	if !o.TUFNamed {
		r, err := imported(o)
		if r != nil && r.Stale && o.RefuseStale {
			return nil, &StaleError{Dir: r.Dir, Age: r.Age}
		}
		if r != nil || err != nil {
			return r, err
		}
	}
	tufOpts := o.TUF
	tufOpts.CacheDir = o.Dir
	repo := tufOpts.Repository()
	got, err := Load(tufOpts)
	if err == nil {
		return &Resolved{Material: got.Material, Origin: FromTUF, Dir: o.Dir, Repository: got.Repository,
			Refreshed: got.Refreshed, Expires: got.Expires}, nil
	}
	if !o.Embedded || !errors.Is(err, ErrTUFUnreachable) {
		return nil, err
	}
	if m, exp, ok := LastVerified(tufOpts); ok {
		return &Resolved{Material: m, Origin: FromTUF, Dir: o.Dir, Repository: repo, Expires: exp, Stale: true, Unreachable: err}, nil
	}
	if len(o.TUF.Root) > 0 {
		return nil, err // a private instance: the public-good snapshot is no substitute
	}
	m, perr := Parse(publicgood.TrustedRootJSON)
	if perr != nil {
		return nil, fmt.Errorf("embedded public-good trusted root: %w", perr) // a broken build
	}
	return &Resolved{Material: m, Origin: FromEmbedded, Dir: o.Dir, Repository: repo, Unreachable: err}, nil
}

// imported returns the cache `cachet trust import` filled, nil when it holds no import.
func imported(o ResolveOptions) (*Resolved, error) {
	st, err := os.Stat(filepath.Join(o.Dir, importMarker))
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("trust cache: %w", err)
	}
	p := filepath.Join(o.Dir, TrustedRootFile)
	m, err := ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("trust cache: %w (import the file again, or remove %s)", err, o.Dir)
	}
	if m.TrustedRoot == nil {
		return nil, fmt.Errorf("trust cache: %s holds no trusted root (import the file again, or remove %s)", p, o.Dir)
	}
	if sc, err := ReadFile(filepath.Join(o.Dir, SigningConfigFile)); err == nil && sc.SigningConfig != nil {
		m.SigningConfig, m.SigningConfigJSON = sc.SigningConfig, sc.SigningConfigJSON
	}
	now, stale := time.Now, o.StaleAfter
	if o.Now != nil {
		now = o.Now
	}
	if stale == 0 {
		stale = StaleAfter
	}
	age := max(now().Sub(st.ModTime()), 0)
	return &Resolved{Material: m, Origin: FromImport, Path: p, Age: age, Stale: age > stale, Dir: o.Dir}, nil
}

// Notice is the line telling the user which trusted root is used, and a warning when
// it may be out of date; both empty for an explicit file. explicit says how the user
// names a trusted root file instead (a command line's "pass --trusted-root"); "name a
// trusted root file" when empty.
func (r *Resolved) Notice(explicit string) (notice, warning string) {
	if explicit == "" {
		explicit = "name a trusted root file"
	}
	switch r.Origin {
	case FromImport:
		notice = fmt.Sprintf("trusted root: %s (trust cache, imported %s ago)", r.Path, roughly(r.Age))
		if r.Stale {
			warning = fmt.Sprintf("trusted root cache %s was imported %s ago: import a newer `cachet trust export`, or run `cachet trust refresh` where the TUF repository is reachable", r.Dir, roughly(r.Age))
		}
	case FromTUF:
		how := "cached"
		if r.Refreshed {
			how = "refreshed"
		}
		notice = fmt.Sprintf("trusted root: TUF repository %s (%s in %s, metadata valid until %s)", r.Repository, how, r.Dir, r.Expires.UTC().Format(time.RFC3339))
		if r.Stale {
			notice = fmt.Sprintf("trusted root: TUF repository %s, as last refreshed into %s (metadata expired %s)", r.Repository, r.Dir, r.Expires.UTC().Format(time.RFC3339))
			warning = fmt.Sprintf("%v: verifying with the trusted root it last served, whose TUF metadata expired %s; keys added since are unknown: restore access to the repository, or %s", r.Unreachable, r.Expires.UTC().Format(time.RFC3339), explicit)
		}
	case FromEmbedded:
		notice = "trusted root: " + publicgood.Source() +
			"; bundles made with keys newer than that do not verify: run `cachet trust refresh` or " + explicit
		if r.Unreachable != nil {
			warning = fmt.Sprintf("%v, and the trust cache holds nothing of it: verifying with the %s", r.Unreachable, publicgood.Source())
		}
	}
	return notice, warning
}

func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return d.Round(time.Minute).String()
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
