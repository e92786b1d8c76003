package trust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cachet-sign/cachet/trust/publicgood"
)

// DirEnv names the environment variable that moves the trust cache.
const DirEnv = "CACHET_TRUST_DIR"

// StaleAfter is how old a cached trusted root may be before cachet warns. A machine
// learns of a new or retired key only by refreshing; a week is short next to the
// overlap Sigstore gives a key rotation, and long enough that a job refreshing at its
// start, or a daily scheduled refresh, never sees the warning.
const StaleAfter = 7 * 24 * time.Hour

// DefaultDir is the trust cache `cachet trust refresh` and `import` write and verify and
// sign read: $CACHET_TRUST_DIR, else $XDG_CACHE_HOME/cachet/trust, else
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
	FromCache    Origin = "cache"    // the trust cache: the last refresh or import
	FromEmbedded Origin = "embedded" // the public-good snapshot built into cachet
)

// ResolveOptions say where to look for a trusted root, in order: File, the cache in Dir,
// then (only when Embedded is set) the public-good snapshot. The zero value finds
// nothing: a caller opts in to each fallback.
type ResolveOptions struct {
	File     string // a trusted_root.json or a trust envelope; always wins when set
	Dir      string // the trust cache (DefaultDir); empty for none
	Embedded bool   // fall back to the embedded public-good snapshot (verification only)
	Now      func() time.Time
	// StaleAfter is the cache age that makes it stale; StaleAfter when zero.
	StaleAfter time.Duration
}

// Resolved is a trusted root and where it came from.
type Resolved struct {
	*Material
	Origin Origin
	Path   string        // the file read; empty for the embedded snapshot
	Age    time.Duration // FromCache: time since the cache was written
	Stale  bool          // FromCache: Age is more than StaleAfter
	Dir    string        // the cache directory looked at (empty when none)
}

// ErrNoTrustedRoot is a resolution that found nothing where it was allowed to look.
var ErrNoTrustedRoot = errors.New("no trusted root")

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
	if o.Dir != "" {
		p := filepath.Join(o.Dir, TrustedRootFile)
		st, err := os.Stat(p)
		switch {
		case err == nil:
			m, err := ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("trust cache: %w (run `cachet trust refresh`, or remove it)", err)
			}
			if m.TrustedRoot == nil {
				return nil, fmt.Errorf("trust cache: %s holds no trusted root (run `cachet trust refresh`, or remove it)", p)
			}
			now, stale := time.Now, o.StaleAfter
			if o.Now != nil {
				now = o.Now
			}
			if stale == 0 {
				stale = StaleAfter
			}
			age := max(now().Sub(st.ModTime()), 0)
			return &Resolved{Material: m, Origin: FromCache, Path: p, Age: age, Stale: age > stale, Dir: o.Dir}, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("trust cache: %w", err)
		}
	}
	if !o.Embedded {
		return nil, ErrNoTrustedRoot
	}
	m, err := Parse(publicgood.TrustedRootJSON)
	if err != nil {
		return nil, fmt.Errorf("embedded public-good trusted root: %w", err) // a broken build
	}
	return &Resolved{Material: m, Origin: FromEmbedded, Dir: o.Dir}, nil
}

// Notice is the line to tell the user which trusted root is used, and the stale warning
// (Warning) when there is one; both empty for an explicit file.
func (r *Resolved) Notice() (notice, warning string) {
	switch r.Origin {
	case FromCache:
		notice = fmt.Sprintf("trusted root: %s (trust cache, written %s ago)", r.Path, roughly(r.Age))
		if r.Stale {
			warning = fmt.Sprintf("trusted root cache %s is %s old; run `cachet trust refresh`", r.Dir, roughly(r.Age))
		}
	case FromEmbedded:
		notice = "trusted root: " + publicgood.Source() +
			"; bundles made with keys newer than that do not verify: run `cachet trust refresh` or pass --trusted-root"
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
