package trust

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
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
	Root       []byte
	CacheDir   string // TUF metadata cache; trusted_root.json and signing_config.v0.2.json are written here
	HTTPClient *http.Client
}

// Refresh runs a full TUF update (root rotation, timestamp, snapshot, targets, each
// signed by the threshold of keys its parent delegates to and not expired), downloads
// the trusted root and, when the repository has one, the signing config, checks that
// they parse, and only then writes them into CacheDir. A refused update leaves the
// files of the last good refresh in place.
func Refresh(o RefreshOptions) (*Material, error) {
	switch {
	case o.CacheDir == "":
		return nil, errors.New("tuf: a cache directory is required")
	case o.RepositoryURL == "" && len(o.Root) > 0:
		return nil, errors.New("tuf: a TUF root needs the URL of the repository it signs")
	case o.RepositoryURL == "":
		o.RepositoryURL = PublicGoodRepository
	}
	if len(o.Root) == 0 {
		o.Root = tuf.DefaultRoot()
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("tuf: cache: %w", err)
	}
	f := fetcher.NewDefaultFetcher()
	if o.HTTPClient != nil {
		f.SetHTTPClient(o.HTTPClient)
	} else {
		f.SetHTTPClient(&http.Client{Timeout: 30 * time.Second})
	}
	c, err := tuf.New(&tuf.Options{Root: o.Root, RepositoryBaseURL: o.RepositoryURL, CachePath: o.CacheDir,
		CacheValidity: tuf.NoCache, Fetcher: f})
	if err != nil {
		return nil, explain(o.RepositoryURL, err)
	}
	m := &Material{}
	if m.TrustedRootJSON, err = c.GetTarget(TrustedRootFile); err != nil {
		return nil, fmt.Errorf("tuf %s: target %s: %w", o.RepositoryURL, TrustedRootFile, err)
	}
	if m, err = parseTargets(m.TrustedRootJSON, c); err != nil {
		return nil, fmt.Errorf("tuf %s: %w", o.RepositoryURL, err)
	}
	if _, err := Import(m, o.CacheDir); err != nil {
		return nil, fmt.Errorf("tuf: write %s: %w", o.CacheDir, err)
	}
	return m, nil
}

// PublicGoodRepository is the Sigstore public-good TUF repository, whose root
// sigstore-go embeds (tuf.DefaultRoot).
const PublicGoodRepository = tuf.DefaultMirror

func parseTargets(trJSON []byte, c *tuf.Client) (*Material, error) {
	m, err := Parse(trJSON)
	if err != nil || m.TrustedRoot == nil {
		return nil, fmt.Errorf("target %s is not a trusted root: %v", TrustedRootFile, err)
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
		return nil, fmt.Errorf("target %s is not a signing config v0.2: %v", SigningConfigFile, err)
	}
	m.SigningConfig, m.SigningConfigJSON = s.SigningConfig, s.SigningConfigJSON
	return m, nil
}

// explain words go-tuf's refusals for a user.
func explain(url string, err error) error {
	var expired *metadata.ErrExpiredMetadata
	var unsigned *metadata.ErrUnsignedMetadata
	var netErr net.Error
	switch {
	case errors.As(err, &netErr):
		return fmt.Errorf("tuf %s: unreachable (%w); the last good trusted root is kept; a machine without network takes a `cachet trust export` file through `cachet trust import`", url, err)
	case errors.As(err, &expired):
		return fmt.Errorf("tuf %s: refused: metadata expired (%w); the repository must re-sign it, or its clock is wrong; the last good trusted root is kept", url, err)
	case errors.As(err, &unsigned):
		return fmt.Errorf("tuf %s: refused: metadata not signed by the keys the TUF root trusts (%w); the last good trusted root is kept", url, err)
	}
	return fmt.Errorf("tuf %s: %w", url, err)
}
