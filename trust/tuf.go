package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// RefreshOptions name a TUF repository that publishes trusted_root.json and
// signing_config.v0.2.json as targets (as Sigstore's does), and where to keep them.
// Without RepositoryURL and Root it is the public-good repository.
type RefreshOptions struct {
	// RepositoryURL is the TUF repository base URL (metadata at URL/N.root.json,
	// URL/timestamp.json, ...); PublicGoodRepository when empty.
	RepositoryURL string
	// Root is the TUF root.json the client trusts first, distributed out of band.
	// When empty: sigstore-go's embedded public-good TUF root, which only verifies
	// the public-good repository or a mirror of it; a Root needs a RepositoryURL.
	Root []byte
	// CacheDir is the trust cache: the TUF metadata goes under CacheDir/tuf, and a
	// successful refresh writes trusted_root.json and signing_config.v0.2.json here.
	CacheDir   string
	HTTPClient *http.Client
}

// TUFMaterial is the material of a TUF repository, with what the client knows of it.
type TUFMaterial struct {
	*Material
	Repository string
	// Refreshed: fetched from the repository by this call; else read from a cache
	// whose metadata was still valid.
	Refreshed bool
	// Expires is the earliest expiry of the verified root, timestamp, snapshot and
	// targets metadata: until then the cache is used without asking the repository.
	Expires time.Time
}

// Errors of a TUF update, for errors.Is. Every error Load and Refresh return for a
// repository wraps one of them.
var (
	// ErrTUFUnreachable: the repository did not answer (network, DNS, 5xx). The cache
	// is as it was.
	ErrTUFUnreachable = errors.New("TUF repository unreachable")
	// ErrTUFRefused: the repository answered with metadata or targets the client must
	// not accept (not signed by the keys the root delegates to, expired, rolled back,
	// not matching their hashes). Nothing of it was cached.
	ErrTUFRefused = errors.New("TUF repository refused")
	// ErrCacheNotWritable: the trust cache cannot be written.
	ErrCacheNotWritable = errors.New("trust cache not writable")
)

// PublicGoodRepository is the Sigstore public-good TUF repository, whose root
// sigstore-go embeds (tuf.DefaultRoot).
const PublicGoodRepository = tuf.DefaultMirror

// StagingRepository is the Sigstore staging instance's TUF repository; StagingRoot is
// the TUF root sigstore-go embeds for it (what the sigstore-conformance protocol's
// --staging selects).
const StagingRepository = tuf.StagingMirror

// StagingRoot returns sigstore-go's embedded TUF root.json of StagingRepository.
func StagingRoot() []byte { return tuf.StagingRoot() }

// Load returns the repository's trusted root and signing config from the cache when its
// TUF metadata is still valid by TUF's own rules (every top-level role verified and
// unexpired: in practice the timestamp role's expiry decides), without a request;
// else it refreshes first (Refresh).
func Load(o RefreshOptions) (*TUFMaterial, error) { return update(o, false) }

// Refresh runs a full TUF update through sigstore-go's client (go-tuf: root rotation,
// then timestamp, snapshot and targets, each signed by the threshold of keys its parent
// delegates to, unexpired, and not older than the cached version), downloads the
// trusted root and, when the repository has one, the signing config, checks that they
// parse, and only then replaces the cache. The update runs in a copy of the cached
// metadata: a refused or failed one leaves the cache exactly as it was.
func Refresh(o RefreshOptions) (*TUFMaterial, error) { return update(o, true) }

// anchorFile, in a repository's metadata directory, holds the SHA-256 of the TUF root
// the cached metadata was first verified from.
const anchorFile = "anchor.sha256"

// Repository is the URL of the repository o names: RepositoryURL, else
// PublicGoodRepository.
func (o RefreshOptions) Repository() string {
	if o.RepositoryURL == "" {
		return PublicGoodRepository
	}
	return o.RepositoryURL
}

func (o *RefreshOptions) check() error {
	switch {
	case o.CacheDir == "":
		return errors.New("tuf: a cache directory is required")
	case o.RepositoryURL == "" && len(o.Root) > 0:
		return errors.New("tuf: a TUF root needs the URL of the repository it signs")
	case o.RepositoryURL == "":
		o.RepositoryURL = PublicGoodRepository
	}
	o.RepositoryURL = strings.TrimRight(o.RepositoryURL, "/")
	if len(o.Root) == 0 {
		o.Root = tuf.DefaultRoot()
	}
	return nil
}

// metadataDir is where sigstore-go keeps a repository's metadata under the cache.
func metadataDir(cacheDir, url string) string {
	return filepath.Join(cacheDir, "tuf", tuf.URLToPath(url))
}

func update(o RefreshOptions, online bool) (*TUFMaterial, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	tufDir := filepath.Join(o.CacheDir, "tuf")
	created := mkdirs(o.CacheDir, tufDir)
	var tmp string
	fail := func(err error) (*TUFMaterial, error) {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i]) // only when still empty: nothing was cached
		}
		return nil, err
	}
	tmp, err := os.MkdirTemp(tufDir, ".update-")
	if err != nil {
		tmp = ""
	}
	if err != nil {
		return fail(fmt.Errorf("%w: %s: %v", ErrCacheNotWritable, o.CacheDir, errors.Unwrap(err)))
	}
	defer os.RemoveAll(tmp)
	repoDir := metadataDir(o.CacheDir, o.RepositoryURL)
	work := filepath.Join(tmp, tuf.URLToPath(o.RepositoryURL))
	if err := copyDir(repoDir, work); err != nil {
		return fail(fmt.Errorf("%w: %s: %v", ErrCacheNotWritable, o.CacheDir, err))
	}
	anchor := digest(o.Root)
	opts := &tuf.Options{Root: o.Root, RepositoryBaseURL: o.RepositoryURL, CachePath: tmp}
	// TUF 5.2: start from the newest root the cache verified, when it was verified
	// from this very anchor (sigstore-go would start from the anchor each time, and an
	// anchor past its expiry would then never let the cache be used offline).
	if a, err := os.ReadFile(filepath.Join(work, anchorFile)); err == nil && strings.TrimSpace(string(a)) == anchor {
		if r, err := os.ReadFile(filepath.Join(work, "root.json")); err == nil {
			opts.Root = r
		}
	}

	if !online {
		// The cache alone, verified: no request leaves this machine.
		off := *opts
		off.ForceCache, off.Fetcher = true, offlineFetcher{}
		if c, err := tuf.New(&off); err == nil {
			if m, err := fetchTargets(c); err == nil {
				exp, err := expiry(work)
				if err == nil && time.Now().Before(exp) {
					return &TUFMaterial{Material: m, Repository: o.RepositoryURL, Expires: exp}, nil
				}
			}
		}
	}

	f := fetcher.NewDefaultFetcher()
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	f.SetHTTPClient(hc)
	opts.CacheValidity, opts.Fetcher = tuf.NoCache, f
	c, err := tuf.New(opts)
	if err != nil {
		return fail(explain(o.RepositoryURL, err))
	}
	m, err := fetchTargets(c)
	if err != nil {
		return fail(explain(o.RepositoryURL, err))
	}
	exp, err := expiry(work)
	if err != nil {
		return fail(fmt.Errorf("tuf %s: %w", o.RepositoryURL, err))
	}
	if err := os.WriteFile(filepath.Join(work, anchorFile), []byte(anchor+"\n"), 0o644); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrCacheNotWritable, err))
	}
	// Replace the repository's metadata with the verified copy, then the files
	// commands read. A crash between the renames leaves no metadata: the next run
	// starts again from the anchor.
	old := filepath.Join(tmp, "old")
	if err := os.Rename(repoDir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("%w: %v", ErrCacheNotWritable, err))
	}
	if err := os.Rename(work, repoDir); err != nil {
		os.Rename(old, repoDir)
		return fail(fmt.Errorf("%w: %v", ErrCacheNotWritable, err))
	}
	if _, err := Import(m, o.CacheDir); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCacheNotWritable, o.CacheDir, err)
	}
	if m.SigningConfig == nil {
		os.Remove(filepath.Join(o.CacheDir, SigningConfigFile)) // not the previous repository's
	}
	os.Remove(filepath.Join(o.CacheDir, importMarker))
	return &TUFMaterial{Material: m, Repository: o.RepositoryURL, Refreshed: true, Expires: exp}, nil
}

// LastVerified returns the trusted root and signing config of the repository's last
// successful refresh, whatever the state of its metadata now, and the metadata's
// expiry; ok is false when the cache holds nothing of the repository. Only for
// verification when the repository cannot be reached.
func LastVerified(o RefreshOptions) (m *Material, expires time.Time, ok bool) {
	if o.check() != nil {
		return nil, time.Time{}, false
	}
	dir := metadataDir(o.CacheDir, o.RepositoryURL)
	a, err := os.ReadFile(filepath.Join(dir, anchorFile))
	if err != nil || strings.TrimSpace(string(a)) != digest(o.Root) {
		return nil, time.Time{}, false
	}
	tr, err := os.ReadFile(filepath.Join(dir, "targets", TrustedRootFile))
	if err != nil {
		return nil, time.Time{}, false
	}
	if m, err = Parse(tr); err != nil || m.TrustedRoot == nil {
		return nil, time.Time{}, false
	}
	if sc, err := os.ReadFile(filepath.Join(dir, "targets", SigningConfigFile)); err == nil {
		if s, err := Parse(sc); err == nil && s.SigningConfig != nil {
			m.SigningConfig, m.SigningConfigJSON = s.SigningConfig, s.SigningConfigJSON
		}
	}
	expires, _ = expiry(dir)
	return m, expires, true
}

func fetchTargets(c *tuf.Client) (*Material, error) {
	tr, err := c.GetTarget(TrustedRootFile)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", TrustedRootFile, err)
	}
	m, err := Parse(tr)
	if err != nil || m.TrustedRoot == nil {
		return nil, fmt.Errorf("%w: target %s is not a trusted root: %v", ErrTUFRefused, TrustedRootFile, err)
	}
	sc, err := c.GetTarget(SigningConfigFile)
	switch {
	case err != nil && strings.Contains(err.Error(), "target "+SigningConfigFile+" not found"):
		// The repository publishes no signing config (go-tuf has no sentinel for this).
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("target %s: %w", SigningConfigFile, err)
	}
	s, err := Parse(sc)
	if err != nil || s.SigningConfig == nil {
		return nil, fmt.Errorf("%w: target %s is not a signing config v0.2: %v", ErrTUFRefused, SigningConfigFile, err)
	}
	m.SigningConfig, m.SigningConfigJSON = s.SigningConfig, s.SigningConfigJSON
	return m, nil
}

// expiry is the earliest expiry of the top-level metadata in dir.
func expiry(dir string) (time.Time, error) {
	var first time.Time
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		b, err := os.ReadFile(filepath.Join(dir, role+".json"))
		if err != nil {
			return time.Time{}, err
		}
		var md struct {
			Signed struct {
				Expires time.Time `json:"expires"`
			} `json:"signed"`
		}
		if err := json.Unmarshal(b, &md); err != nil {
			return time.Time{}, fmt.Errorf("%s.json: %w", role, err)
		}
		if first.IsZero() || md.Signed.Expires.Before(first) {
			first = md.Signed.Expires
		}
	}
	return first, nil
}

// offlineFetcher answers every request with an error: the cache is all there is.
type offlineFetcher struct{}

var errOffline = errors.New("offline: the cache alone is read")

func (offlineFetcher) DownloadFile(string, int64, time.Duration) ([]byte, error) {
	return nil, errOffline
}

// mkdirs creates the directories that do not exist yet, in order, and returns them.
func mkdirs(dirs ...string) []string {
	var made []string
	for _, d := range dirs {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			if os.MkdirAll(d, 0o755) == nil {
				made = append(made, d)
			}
		}
	}
	return made
}

// copyDir copies the regular files of from (recursively) into to; a missing from
// leaves to absent.
func copyDir(from, to string) error {
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(from); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
	}
	return err
}

// explain words go-tuf's refusals for a user and classifies them.
func explain(url string, err error) error {
	var expired *metadata.ErrExpiredMetadata
	var unsigned *metadata.ErrUnsignedMetadata
	var rollback *metadata.ErrBadVersionNumber
	var hashes *metadata.ErrLengthOrHashMismatch
	var httpErr *metadata.ErrDownloadHTTP
	var netErr net.Error
	const kept = "nothing was cached, the trust cache is as it was"
	switch {
	case errors.Is(err, ErrTUFRefused):
		return fmt.Errorf("tuf %s: refused: %v; %s", url, err, kept)
	case errors.As(err, &expired):
		return fmt.Errorf("tuf %s: %w: metadata expired (%v): the repository must re-sign it, or this machine's clock is wrong; %s", url, ErrTUFRefused, err, kept)
	case errors.As(err, &unsigned):
		return fmt.Errorf("tuf %s: %w: metadata not signed by the keys the TUF root trusts (%v): a wrong TUF root, or a tampered repository; %s", url, ErrTUFRefused, err, kept)
	case errors.As(err, &rollback):
		return fmt.Errorf("tuf %s: %w: rollback: the repository offers older metadata than this cache already verified (%v); %s", url, ErrTUFRefused, err, kept)
	case errors.As(err, &hashes):
		return fmt.Errorf("tuf %s: %w: a file does not match its signed length or hash (%v); %s", url, ErrTUFRefused, err, kept)
	case errors.As(err, &httpErr) && httpErr.StatusCode >= 500:
		return fmt.Errorf("tuf %s: %w (%v)", url, ErrTUFUnreachable, err)
	case errors.As(err, &httpErr):
		return fmt.Errorf("tuf %s: %w: answered HTTP %d for %s: is it a TUF repository (metadata at URL/N.root.json, URL/timestamp.json)?; %s", url, ErrTUFRefused, httpErr.StatusCode, httpErr.URL, kept)
	case errors.As(err, &netErr):
		return fmt.Errorf("tuf %s: %w (%v)", url, ErrTUFUnreachable, err)
	case errors.Is(err, &metadata.ErrRepository{}):
		return fmt.Errorf("tuf %s: %w: %v; %s", url, ErrTUFRefused, err, kept)
	}
	return fmt.Errorf("tuf %s: %w: %v; %s", url, ErrTUFRefused, err, kept)
}
