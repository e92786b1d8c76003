// Package gh is everything cachet does with GitHub's REST API, for one repository:
// releases (get by tag, create, list assets page by page, download an asset through
// the redirect to storage without the token, upload, delete) and artifact
// attestations. Every request goes through internal/httpretry, which waits out
// GitHub's rate limits up to a bound and retries transient failures.
//
// It names no command-line flag: conditions a caller explains to its user are
// sentinel errors (ErrReleaseNotFound, ErrAssetConflict, ...). It never logs or
// returns the token.
package gh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/internal/httpretry"
	"github.com/google/go-github/v60/github"
)

// DefaultAPI is GitHub.com's REST API.
const DefaultAPI = "https://api.github.com"

var (
	// ErrBadRepo is a repository name that is not owner/name.
	ErrBadRepo = errors.New("want owner/name")
	// ErrNoToken is a job environment without GITHUB_TOKEN (FromEnv).
	ErrNoToken = errors.New("no GitHub token: GITHUB_TOKEN is not set")
	// ErrBadAPIURL is an API URL that is not http(s)://HOST[/api/v3].
	ErrBadAPIURL = errors.New("want https://HOST/api/v3")
	// ErrReleaseNotFound means GitHub answered 404 for the release: no release for the
	// tag, or a repository the token cannot read.
	ErrReleaseNotFound = errors.New("release not found")
	// ErrAssetExists means an upload met an asset of the same name (GitHub's 422
	// already_exists).
	ErrAssetExists = errors.New("the release already has an asset of that name")
	// ErrAssetConflict means a file to publish has the name of an existing asset with
	// other content; assets are not silently replaced.
	ErrAssetConflict = errors.New("the release has an asset of that name with other content")
)

// Options say which GitHub and repository a Client reaches, and how it waits.
type Options struct {
	Owner, Name string
	// APIURL is the REST API: GitHub.com's when empty or DefaultAPI, else GitHub
	// Enterprise Server's https://HOST/api/v3.
	APIURL string
	// UploadURL is the uploads API; derived from APIURL (https://HOST/api/uploads/)
	// when empty.
	UploadURL string
	Token     string
	// HTTPClient carries the requests (its Transport; its Timeout bounds each
	// attempt). When nil, a transport with dial and response-header timeouts and no
	// bound on a transfer, which the caller's context bounds.
	HTTPClient *http.Client
	// MaxWait is the longest rate-limit wait (2 min when zero); a longer one fails
	// with an httpretry.WaitError. MaxWaitName names it in that error (the setting
	// that raises it).
	MaxWait     time.Duration
	MaxWaitName string
	// Log receives a line for each wait ("github: get release: primary rate limit;
	// retrying in 1.2s") and for PublishAssets' progress; nothing when nil.
	Log io.Writer
	// Now is the clock rate limits are reckoned with; Sleep waits (tests replace both).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client is one repository's REST API.
type Client struct {
	Owner, Name string

	api   *github.Client
	dl    *http.Client // follows the redirect to storage: no token
	retry *httpretry.Transport
	log   io.Writer
	mu    sync.Mutex // serialises log lines of parallel calls
}

// ParseRepo splits owner/name.
func ParseRepo(s string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q: %w", s, ErrBadRepo)
	}
	return owner, name, nil
}

// FromEnv is New for the repository repo names, else $GITHUB_REPOSITORY, through
// o.APIURL, else $GITHUB_API_URL, with the token $GITHUB_TOKEN (ErrNoToken when unset),
// as getenv reads the job's environment. mask, when set, gets the token before anything
// can print it (the runner's add-mask).
func FromEnv(getenv func(string) string, repo string, o Options, mask func(string)) (*Client, error) {
	if repo == "" {
		repo = getenv("GITHUB_REPOSITORY")
	}
	var err error
	if o.Owner, o.Name, err = ParseRepo(repo); err != nil {
		return nil, err
	}
	if o.Token = getenv("GITHUB_TOKEN"); o.Token == "" {
		return nil, ErrNoToken
	}
	if mask != nil {
		mask(o.Token)
	}
	if o.APIURL == "" {
		o.APIURL = getenv("GITHUB_API_URL")
	}
	return New(o)
}

// New makes the client. Anything but GitHub.com's API is GitHub Enterprise Server (or
// a fake): go-github's WithEnterpriseURLs adds /api/v3/ and /api/uploads/.
func New(o Options) (*Client, error) {
	if o.Owner == "" || o.Name == "" {
		return nil, fmt.Errorf("repository %q: %w", o.Owner+"/"+o.Name, ErrBadRepo)
	}
	base := o.HTTPClient
	if base == nil {
		base = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute,
			DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext, TLSHandshakeTimeout: 30 * time.Second}}
	}
	wait := o.MaxWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	c := &Client{Owner: o.Owner, Name: o.Name, log: o.Log}
	// Six attempts, as GitHub's own clients make; POSTs are retried: a repeated
	// create answers 422 (told apart below), a repeated attestation is one more in
	// the subject's list.
	c.retry = &httpretry.Transport{Attempts: 6, MinBackoff: 500 * time.Millisecond, MaxWait: wait, MaxWaitName: o.MaxWaitName,
		MaxTotalWait: 2 * wait, Retryable: httpretry.AnyMethod, GitHub: true, Log: c.logWait, Now: o.Now, Sleep: o.Sleep}
	api := httpretry.Wrap(base, c.retry)
	dlRetry := *c.retry
	dlRetry.GitHub = false
	c.dl = httpretry.Wrap(base, &dlRetry)
	gc := github.NewClient(api).WithAuthToken(o.Token)
	if o.APIURL != "" && strings.TrimSuffix(o.APIURL, "/") != DefaultAPI {
		u, err := url.Parse(o.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("API URL %q: %w", o.APIURL, ErrBadAPIURL)
		}
		up := o.UploadURL
		if up == "" {
			uu := *u
			uu.Path = strings.TrimSuffix(strings.TrimSuffix(uu.Path, "/"), "/api/v3") + "/api/uploads/"
			up = uu.String()
		}
		if gc, err = gc.WithEnterpriseURLs(o.APIURL, up); err != nil {
			return nil, fmt.Errorf("API URL %q: %w: %v", o.APIURL, ErrBadAPIURL, err)
		}
	}
	c.api = gc
	return c, nil
}

// Repo is owner/name.
func (c *Client) Repo() string { return c.Owner + "/" + c.Name }

type opKey struct{}

// op names what a request is for, in the lines that say a wait is happening.
func op(ctx context.Context, what string) context.Context {
	return context.WithValue(ctx, opKey{}, what)
}

func (c *Client) logWait(ctx context.Context, why string, wait time.Duration) {
	what, _ := ctx.Value(opKey{}).(string)
	c.logf("github: %s: %s; retrying in %s\n", what, why, wait.Round(100*time.Millisecond))
}

func (c *Client) logf(format string, args ...any) {
	if c.log == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.log, format, args...)
}

// IsStatus reports an error that is GitHub's answer with HTTP status code.
func IsStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}
