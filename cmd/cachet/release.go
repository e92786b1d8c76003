package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/internal/names"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/sign"
)

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
	c, err := openGitHub(e, repo, apiURL, uploadURL, "contents: write", rateWait, e.stderr)
	if err != nil {
		return err
	}
	repo = c.Repo()
	tr, err := signingTrustedRoot(e, &f) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if len(upload) > 0 {
		var files []string
		for _, p := range upload {
			m, err := filepath.Glob(p)
			if err != nil || len(m) == 0 {
				return usagef("--upload %q matches no file", p)
			}
			files = append(files, m...)
		}
		if _, err := publishAssets(ctx, c, tag, files); err != nil {
			return err
		}
	}

	// 1. The release and its assets (every page).
	rel, err := c.Release(ctx, tag)
	if errors.Is(err, gh.ErrReleaseNotFound) {
		return usagef("release %q not found in %s (GitHub answered 404): check --tag and --repo, and that the token can read the repository", tag, repo)
	}
	if err != nil {
		return err
	}
	assets, err := c.Assets(ctx, rel)
	if err != nil {
		return err
	}
	bundles := map[string]gh.Asset{}
	var arts []gh.Asset
	for _, as := range assets {
		if strings.HasSuffix(as.Name, bundleSuffix) {
			bundles[as.Name] = as
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
		asset    gh.Asset
		existing *gh.Asset
		subject  sign.Subject
		err      error
	}
	items := make([]*item, len(arts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(f.parallel, 4))
	for i, as := range arts {
		it := &item{asset: as}
		if b, ok := bundles[as.Name+bundleSuffix]; ok {
			it.existing = &b
		}
		items[i] = it
		dir := filepath.Join(tmp, strconv.Itoa(i))
		it.subject = sign.Subject{Name: as.Name, Path: filepath.Join(dir, filepath.Base(as.Name)),
			Bundle: filepath.Join(dir, filepath.Base(as.Name)+bundleSuffix)}
		if names.HasControl(as.Name) {
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
			d, err := c.Download(ctx, as.ID, it.subject.Path, 0)
			if err != nil {
				it.err = fmt.Errorf("download: %w", err)
				return
			}
			it.subject.Digest = d
			if it.existing != nil && !replace {
				if n := it.existing.Size; n > bundle.MaxSize {
					it.err = fmt.Errorf("the release's %s is %s, larger than any bundle (%s): not a bundle cachet keeps; pass --replace to replace it",
						names.Shown(it.existing.Name), regfile.Size(n), regfile.Size(bundle.MaxSize))
					return
				}
				if _, err := c.Download(ctx, it.existing.ID, it.subject.Bundle, bundle.MaxSize); err != nil {
					it.err = fmt.Errorf("download %s: %w", it.existing.Name, err)
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
			failed = append(failed, fmt.Sprintf("%s: %v", names.Shown(it.asset.Name), it.err))
		case it.existing != nil && !replace:
			if _, err := p.Existing(it.subject.Bundle, it.subject.Digest); err != nil {
				failed = append(failed, fmt.Sprintf("%s: the release's %s does not verify for this identity and the asset (%v); pass --replace to replace it",
					names.Shown(it.asset.Name), names.Shown(it.existing.Name), err))
				continue
			}
			kept++
			fmt.Fprintf(e.stderr, "kept %s: it verifies\n", names.Shown(it.existing.Name))
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
		failed = append(failed, rep.Failed...)
		ok := map[string]bool{}
		for _, r := range rep.Signed {
			ok[r.Subject.Bundle] = true
		}
		// 5. Upload each new bundle; with --replace, delete the old one first.
		for _, it := range signItems {
			if !ok[it.subject.Bundle] {
				continue
			}
			bname := it.asset.Name + bundleSuffix
			if it.existing != nil {
				if err := c.DeleteAsset(ctx, *it.existing); err != nil {
					failed = append(failed, fmt.Sprintf("%s: delete the old %s: %v", it.asset.Name, bname, err))
					continue
				}
			}
			_, err := c.Upload(ctx, rel, bname, it.subject.Bundle, "application/json")
			if errors.Is(err, gh.ErrAssetExists) {
				err = fmt.Errorf("%w (an asset named %s appeared meanwhile; run again to check it)", err, bname)
			}
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: upload %s: %v", it.asset.Name, bname, err))
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
		if err := report.SetOutputs(a, "certificate-identity", id.SAN, "certificate-oidc-issuer", id.Issuer,
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
