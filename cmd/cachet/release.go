package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/sign"
	"github.com/google/go-github/v60/github"
)

const defaultGitHubAPI = "https://api.github.com"

// bundleSuffix names a bundle asset: <asset>.sigstore.json, next to its asset.
const bundleSuffix = ".sigstore.json"

// cmdRelease signs a GitHub release's assets: it downloads them (streamed to a
// temporary directory, hashed on the way), signs them in one run with one certificate,
// and uploads <asset>.sigstore.json beside each. An existing bundle asset is kept when it
// verifies for this identity and the asset's digest; --replace signs again and replaces
// it. Nothing else on the release is touched.
func cmdRelease(ctx context.Context, args []string, e *env) error {
	a := e.action()
	var f signFlags
	var tag, repo, apiURL, uploadURL string
	var replace bool
	var upload listFlag
	var rateWait time.Duration
	fs := flag.NewFlagSet("cachet release", flag.ContinueOnError)
	f.register(fs, false)
	fs.StringVar(&tag, "tag", "", "release tag whose assets to sign (required)")
	fs.StringVar(&repo, "repo", "", "owner/name; default $GITHUB_REPOSITORY")
	fs.StringVar(&apiURL, "github-api-url", "", "GitHub REST API; default $GITHUB_API_URL or https://api.github.com (GHES: https://HOST/api/v3)")
	fs.StringVar(&uploadURL, "github-upload-url", "", "GitHub uploads API; default derived from --github-api-url (GHES: https://HOST/api/uploads)")
	fs.BoolVar(&replace, "replace", false, "sign every asset again and replace existing bundle assets, valid or not")
	fs.Var(&upload, "upload", "file or glob to publish on the release first (repeatable); creates the release for an existing tag when there is none; an asset of the same name must have the same content")
	fs.DurationVar(&rateWait, "rate-limit-wait", 2*time.Minute, "longest wait for a GitHub rate limit to reset before giving up")
	f.resume = true
	f.registerSigningConfig(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if err := f.checkRun(); err != nil {
		return err
	}
	if err := applySigningConfig(fs, &f, time.Now(), e); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("release takes no arguments (got %q): the assets come from the release --tag names", fs.Args())
	}
	if tag == "" {
		return usagef("no release: pass --tag TAG")
	}
	target, err := openGitHub(e, repo, apiURL, uploadURL, "contents: write")
	if err != nil {
		return err
	}
	gh, owner, name := target.gh, target.owner, target.name
	repo = owner + "/" + name
	tr, err := signingTrustedRoot(e, &f) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	rl := &ghRetry{maxWait: rateWait, log: e.stderr}
	if len(upload) > 0 {
		var files []string
		for _, p := range upload {
			m, err := filepath.Glob(p)
			if err != nil || len(m) == 0 {
				return usagef("--upload %q matches no file", p)
			}
			files = append(files, m...)
		}
		if _, err := publishAssets(ctx, gh, rl, owner, name, tag, files, e.stderr); err != nil {
			return err
		}
	}

	// 1. The release and its assets (every page).
	var rel *github.RepositoryRelease
	err = rl.do(ctx, "get release", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		rel, resp, err = gh.Repositories.GetReleaseByTag(ctx, owner, name, tag)
		return resp, err
	})
	var ger *github.ErrorResponse
	if errors.As(err, &ger) && ger.Response != nil && ger.Response.StatusCode == http.StatusNotFound {
		return usagef("release %q not found in %s (GitHub answered 404): check --tag and --repo, and that the token can read the repository", tag, repo)
	}
	if err != nil {
		return fmt.Errorf("github: release %s of %s: %w", tag, repo, err)
	}
	var assets []*github.ReleaseAsset
	opt := &github.ListOptions{PerPage: 100}
	for {
		var page []*github.ReleaseAsset
		var next int
		err := rl.do(ctx, "list assets", func() (*github.Response, error) {
			p, resp, err := gh.Repositories.ListReleaseAssets(ctx, owner, name, rel.GetID(), opt)
			page = p
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil {
			return fmt.Errorf("github: list assets of release %s: %w", tag, err)
		}
		assets = append(assets, page...)
		if next == 0 {
			break
		}
		opt.Page = next
	}
	bundles := map[string]*github.ReleaseAsset{}
	var arts []*github.ReleaseAsset
	for _, as := range assets {
		if strings.HasSuffix(as.GetName(), bundleSuffix) {
			bundles[as.GetName()] = as
		} else {
			arts = append(arts, as)
		}
	}
	if len(arts) == 0 {
		return usagef("release %s of %s has no asset to sign", tag, repo)
	}

	// 2. One certificate for the run (checks the identity before any download).
	auditW, closeAudit, err := openAudit(f.auditLog, e.stderr)
	if err != nil {
		return err
	}
	defer closeAudit()
	al := &audit.Logger{W: auditW}
	p, id, err := keylessPipeline(ctx, e, &f, tr, al)
	if err != nil {
		return err
	}

	// 3. Download every asset (and, unless --replace, its bundle), hashing on the way.
	tmp, err := os.MkdirTemp("", "cachet-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	type item struct {
		asset    *github.ReleaseAsset
		existing *github.ReleaseAsset
		subject  sign.Subject
		err      error
	}
	items := make([]*item, len(arts))
	dl := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext}}
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(f.parallel, 4))
	for i, as := range arts {
		it := &item{asset: as, existing: bundles[as.GetName()+bundleSuffix]}
		items[i] = it
		dir := filepath.Join(tmp, strconv.Itoa(i))
		it.subject = sign.Subject{Name: as.GetName(), Path: filepath.Join(dir, filepath.Base(as.GetName())),
			Bundle: filepath.Join(dir, filepath.Base(as.GetName())+bundleSuffix)}
		if hasControl(as.GetName()) {
			it.err = errors.New("the asset's name holds a control character; a line break would split the bundle-paths output and could inject workflow commands into the log: rename the asset")
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := os.Mkdir(dir, 0o700); err != nil {
				it.err = err
				return
			}
			d, err := download(ctx, gh, rl, dl, owner, name, as.GetID(), it.subject.Path, true, 0)
			if err != nil {
				it.err = fmt.Errorf("download: %w", err)
				return
			}
			it.subject.Digest = d
			if it.existing != nil && !replace {
				if n := it.existing.GetSize(); n > bundle.MaxSize {
					it.err = fmt.Errorf("the release's %s is %s, larger than any bundle (%s): not a bundle cachet keeps; pass --replace to replace it",
						shown(it.existing.GetName()), regfile.Size(int64(n)), regfile.Size(bundle.MaxSize))
					return
				}
				if _, err := download(ctx, gh, rl, dl, owner, name, it.existing.GetID(), it.subject.Bundle, false, bundle.MaxSize); err != nil {
					it.err = fmt.Errorf("download %s: %w", it.existing.GetName(), err)
				}
			}
		})
	}
	wg.Wait()

	// 4. Keep what verifies; sign the rest in one run.
	var failed, lines []string
	var toSign []sign.Subject
	var signItems []*item
	kept := 0
	for _, it := range items {
		switch {
		case it.err != nil:
			failed = append(failed, fmt.Sprintf("%s: %v", shown(it.asset.GetName()), it.err))
		case it.existing != nil && !replace:
			if _, err := p.Existing(it.subject.Bundle, it.subject.Digest); err != nil {
				failed = append(failed, fmt.Sprintf("%s: the release's %s does not verify for this identity and the asset (%v); pass --replace to replace it",
					shown(it.asset.GetName()), shown(it.existing.GetName()), err))
				continue
			}
			kept++
			fmt.Fprintf(e.stderr, "kept %s: it verifies\n", shown(it.existing.GetName()))
		default:
			toSign = append(toSign, it.subject)
			signItems = append(signItems, it)
		}
	}
	uploaded, replaced := 0, 0
	if len(toSign) > 0 {
		run := f
		run.resume = false
		rep := runSubjects(ctx, e, p, toSign, &run, nil)
		failed = append(failed, rep.failed...)
		ok := map[string]bool{}
		for _, r := range rep.signed {
			ok[r.Subject.Bundle] = true
		}
		// 5. Upload each new bundle; with --replace, delete the old one first.
		for _, it := range signItems {
			if !ok[it.subject.Bundle] {
				continue
			}
			bname := it.asset.GetName() + bundleSuffix
			if it.existing != nil {
				err := rl.do(ctx, "delete "+bname, func() (*github.Response, error) {
					return gh.Repositories.DeleteReleaseAsset(ctx, owner, name, it.existing.GetID())
				})
				if err != nil && !isStatus(err, http.StatusNotFound) {
					failed = append(failed, fmt.Sprintf("%s: delete the old %s: %v", it.asset.GetName(), bname, err))
					continue
				}
			}
			err := rl.do(ctx, "upload "+bname, func() (*github.Response, error) {
				fh, err := os.Open(it.subject.Bundle)
				if err != nil {
					return nil, err
				}
				defer fh.Close()
				_, resp, err := gh.Repositories.UploadReleaseAsset(ctx, owner, name, rel.GetID(),
					&github.UploadOptions{Name: bname, MediaType: "application/json"}, fh)
				return resp, err
			})
			if isStatus(err, http.StatusUnprocessableEntity) {
				err = fmt.Errorf("%w (an asset named %s appeared meanwhile; run again to check it)", err, bname)
			}
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: upload %s: %v", it.asset.GetName(), bname, err))
				continue
			}
			if it.existing != nil {
				replaced++
				lines = append(lines, "replaced "+bname)
			} else {
				uploaded++
				lines = append(lines, "uploaded "+bname)
			}
		}
	}
	for _, l := range lines {
		fmt.Fprintln(e.stderr, l)
	}
	fmt.Fprintf(e.stdout, "release %s of %s: %d bundles uploaded, %d replaced, %d kept, %d failed of %d assets\ncertificate identity: %s\nissuer: %s\n",
		tag, repo, uploaded, replaced, kept, len(failed), len(arts), id.SAN, id.Issuer)
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "certificate-identity", id.SAN, "certificate-oidc-issuer", id.Issuer,
			"uploaded", strconv.Itoa(uploaded+replaced), "kept", strconv.Itoa(kept)); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d release assets have no valid bundle (the others' are valid):\n  %s",
			len(failed), len(arts), strings.Join(failed, "\n  "))
	}
	return nil
}

// githubRepo is a repository and the client that reaches its REST API.
type githubRepo struct {
	gh          *github.Client
	owner, name string
}

// openGitHub resolves the repository (repo, else $GITHUB_REPOSITORY), the API URL
// (apiURL, else $GITHUB_API_URL, else api.github.com) and the token ($GITHUB_TOKEN,
// masked in Actions), and makes the client. perm names the job permission the
// command needs, for the message when the token is missing.
func openGitHub(e *env, repo, apiURL, uploadURL, perm string) (*githubRepo, error) {
	if repo == "" {
		repo = e.getenv("GITHUB_REPOSITORY")
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, usagef("--repo %q: want owner/name (default $GITHUB_REPOSITORY)", repo)
	}
	token := e.getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, usagef("no GitHub token: set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}, with permissions: %s)", perm)
	}
	if e.inActions() {
		e.action().AddMask(token)
	}
	if apiURL == "" {
		apiURL = e.getenv("GITHUB_API_URL")
	}
	gh, err := newGitHub(apiURL, uploadURL, token)
	if err != nil {
		return nil, err
	}
	return &githubRepo{gh: gh, owner: owner, name: name}, nil
}

// newGitHub makes the go-github client. Anything but api.github.com is GitHub Enterprise
// Server (or a fake): go-github's WithEnterpriseURLs adds /api/v3/ and /api/uploads/.
func newGitHub(apiURL, uploadURL, token string) (*github.Client, error) {
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext}}
	gh := github.NewClient(hc).WithAuthToken(token)
	if apiURL == "" || strings.TrimSuffix(apiURL, "/") == defaultGitHubAPI {
		return gh, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usagef("--github-api-url %q: want https://HOST/api/v3", apiURL)
	}
	if uploadURL == "" {
		up := *u
		up.Path = strings.TrimSuffix(strings.TrimSuffix(up.Path, "/"), "/api/v3") + "/api/uploads/"
		uploadURL = up.String()
	}
	gh, err = gh.WithEnterpriseURLs(apiURL, uploadURL)
	if err != nil {
		return nil, usagef("--github-api-url: %v", err)
	}
	return gh, nil
}

// download streams asset id to path (the redirect to storage is followed by dl, which
// carries no token), hashing it when hash is set. Retried whole on rate limits and
// transient errors.
func download(ctx context.Context, gh *github.Client, rl *ghRetry, dl *http.Client, owner, repo string, id int64, path string, hash bool, limit int64) ([]byte, error) {
	var digest []byte
	err := rl.do(ctx, "download asset "+strconv.FormatInt(id, 10), func() (*github.Response, error) {
		rc, _, err := gh.Repositories.DownloadReleaseAsset(ctx, owner, repo, id, dl)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		fh, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		w := io.Writer(fh)
		if hash {
			w = io.MultiWriter(fh, h)
		}
		src := &readErrs{r: rc}
		var n int64
		if limit > 0 {
			n, err = io.Copy(w, io.LimitReader(src, limit+1))
			if err == nil && n > limit {
				err = fmt.Errorf("longer than %s", regfile.Size(limit))
			}
		} else {
			_, err = io.Copy(w, src)
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil && src.err != nil {
			return nil, &transientError{err} // the download was cut short: retry it
		}
		if err != nil {
			return nil, err // writing here failed (disk full, permissions): retrying changes nothing
		}
		digest = h.Sum(nil)
		return nil, nil
	})
	return digest, err
}

// readErrs remembers a read error, so a copy's failure can be told apart: the network
// side (worth retrying) or the local file (not).
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// transientError is a failure worth retrying (a download cut short).
type transientError struct{ err error }

func (t *transientError) Error() string { return t.err.Error() }
func (t *transientError) Unwrap() error { return t.err }

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// ghRetry retries GitHub calls on rate limits (waiting for the reset, up to maxWait)
// and on transient failures (5xx, a dropped connection), a bounded number of times.
type ghRetry struct {
	maxWait time.Duration
	log     io.Writer
	mu      sync.Mutex
}

const ghAttempts = 6

func (g *ghRetry) do(ctx context.Context, what string, call func() (*github.Response, error)) error {
	for attempt := 1; ; attempt++ {
		resp, err := call()
		if err == nil {
			return nil
		}
		wait, why := retryAfter(resp, err, attempt)
		if why == "" || attempt >= ghAttempts || ctx.Err() != nil {
			return err
		}
		if wait > g.maxWait {
			return fmt.Errorf("%s: %s for %s, longer than --rate-limit-wait %s: %w", what, why, wait.Round(time.Second), g.maxWait, err)
		}
		g.mu.Lock()
		fmt.Fprintf(g.log, "github: %s: %s; retrying in %s\n", what, why, wait.Round(100*time.Millisecond))
		g.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (while waiting: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// retryAfter says how long to wait before the next attempt and why; "" means do not
// retry. Primary rate limits (go-github's RateLimitError: 403 with
// x-ratelimit-remaining: 0) wait for x-ratelimit-reset; secondary ones
// (AbuseRateLimitError, or a 429 go-github v60 leaves as an ErrorResponse) for
// Retry-After, else the reset, else a minute, as GitHub's docs say.
func retryAfter(resp *github.Response, err error, attempt int) (time.Duration, string) {
	jitter := func(d time.Duration) time.Duration { return d + rand.N(250*time.Millisecond) }
	var rle *github.RateLimitError
	var are *github.AbuseRateLimitError
	var er *github.ErrorResponse
	var te *transientError
	switch {
	case errors.As(err, &rle):
		// Reset is whole seconds: add one so we do not arrive a moment early.
		return jitter(max(0, time.Until(rle.Rate.Reset.Time)) + time.Second), "primary rate limit"
	case errors.As(err, &are):
		if are.RetryAfter != nil {
			return jitter(max(0, *are.RetryAfter)), "secondary rate limit"
		}
		return jitter(time.Minute), "secondary rate limit"
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests:
		h := er.Response.Header
		if s, e := strconv.Atoi(h.Get("Retry-After")); e == nil && s >= 0 {
			return jitter(time.Duration(s) * time.Second), "rate limited (429)"
		}
		if s, e := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); e == nil {
			return jitter(max(0, time.Until(time.Unix(s, 0))) + time.Second), "rate limited (429)"
		}
		return jitter(time.Minute), "rate limited (429)"
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode >= 500:
		return jitter(time.Duration(attempt) * 500 * time.Millisecond), "server error " + strconv.Itoa(er.Response.StatusCode)
	case errors.As(err, &te):
		return jitter(time.Duration(attempt) * 500 * time.Millisecond), "download interrupted"
	case errors.As(err, &er):
		return 0, ""
	}
	// A local file's error is final. (A bare syscall.Errno satisfies net.Error, so that
	// interface alone cannot tell the network from the disk.)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return 0, ""
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return jitter(time.Duration(attempt) * 500 * time.Millisecond), "network error"
	}
	return 0, ""
}
