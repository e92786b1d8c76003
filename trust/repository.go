package trust

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// Environment variables naming the TUF repository when nothing names it explicitly.
const (
	URLEnv  = "CACHET_TUF_URL"
	RootEnv = "CACHET_TUF_ROOT"
)

var (
	// ErrRootWithoutURL: a TUF root was named without the repository it signs, and
	// the embedded public-good root is only for the public-good repository.
	ErrRootWithoutURL = errors.New("a TUF root needs the URL of the repository it signs")
	// ErrStagingAndRepository: the staging repository and another one were both named.
	ErrStagingAndRepository = errors.New("the staging TUF repository and another repository are both named")
)

// RootFileError is a TUF root file (Repository.RootPath or RootEnv) that could not be read.
type RootFileError struct{ Err error }

func (e *RootFileError) Error() string { return e.Err.Error() }
func (e *RootFileError) Unwrap() error { return e.Err }

// Repository names the TUF repository trust comes from when no trusted root file is
// given. The zero value is the public-good repository, unless URLEnv or RootEnv say
// otherwise.
type Repository struct {
	// URL and RootPath are given explicitly (flags, action inputs); where empty,
	// URLEnv and RootEnv stand in.
	URL, RootPath string
	// Staging is the Sigstore staging instance's repository (StagingRepository,
	// through sigstore-go's embedded staging root); it takes no URL nor root.
	Staging bool
}

// Names are the repository URL and root file r names, or for what it leaves empty,
// getenv's URLEnv and RootEnv. A root without a URL is ErrRootWithoutURL.
func (r Repository) Names(getenv func(string) string) (url, rootPath string, err error) {
	url, rootPath = r.URL, r.RootPath
	if url == "" {
		url = getenv(URLEnv)
	}
	if rootPath == "" {
		rootPath = getenv(RootEnv)
	}
	if rootPath != "" && url == "" {
		return "", "", ErrRootWithoutURL
	}
	return url, rootPath, nil
}

// RefreshOptions are the RefreshOptions of the repository r (with getenv's defaults)
// names, its root file read (a *RootFileError when it cannot be). named says whether r
// named one explicitly, which puts it before an imported trust cache in Resolve; the
// environment variables are only defaults. CacheDir is left for the caller.
func (r Repository) RefreshOptions(getenv func(string) string) (o RefreshOptions, named bool, err error) {
	// go-tuf's fetcher takes no context: the HTTP timeout bounds each request.
	o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	if r.Staging {
		if r.URL != "" || r.RootPath != "" {
			return RefreshOptions{}, false, ErrStagingAndRepository
		}
		o.RepositoryURL, o.Root = StagingRepository, StagingRoot()
		return o, true, nil
	}
	url, rootPath, err := r.Names(getenv)
	if err != nil {
		return RefreshOptions{}, false, err
	}
	if rootPath != "" {
		if o.Root, err = os.ReadFile(rootPath); err != nil {
			return RefreshOptions{}, false, &RootFileError{err}
		}
	}
	o.RepositoryURL = url
	return o, r.URL != "" || r.RootPath != "", nil
}

// Refresh updates cacheDir from the repository r names explicitly, as Refresh does; the
// environment variables are not read, so a refresh updates what its caller names. The
// root file is read whole, up to MaxFileSize (a *RootFileError when it cannot be).
func (r Repository) Refresh(cacheDir string, hc *http.Client) (*TUFMaterial, error) {
	if r.RootPath != "" && r.URL == "" {
		return nil, ErrRootWithoutURL
	}
	o := RefreshOptions{RepositoryURL: r.URL, CacheDir: cacheDir, HTTPClient: hc}
	if r.RootPath != "" {
		var err error
		if o.Root, err = regfile.ReadFile(r.RootPath, MaxFileSize); err != nil {
			return nil, &RootFileError{err}
		}
	}
	return Refresh(o)
}
