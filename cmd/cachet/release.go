package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/release"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/sign"
)

// cmdRelease signs a GitHub release's assets: it downloads them (streamed to a
// temporary directory, hashed on the way), signs them in one run with one certificate,
// and uploads <asset>.sigstore.json beside each. An existing bundle asset is kept when it
// verifies for this identity and the asset's digest; --replace signs again and replaces
// it. Nothing else on the release is touched.
func cmdRelease(ctx context.Context, args []string, e *env) error {
	var f signFlags
	var tag, repo, apiURL, uploadURL string
	var replace bool
	var upload inputs.List
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
	f.registerSigningConfig(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if err := f.checkRun(); err != nil {
		return err
	}
	if err := applySigningConfig(fs, &f, e); err != nil {
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
		// Globs take regular files (others are skipped, said on stderr); a file named
		// as it is must be one (release.Assets).
		files, err := regfile.Expand(upload, regfile.ExpandOptions{Warn: e.stderr})
		if err != nil {
			return usagef("--upload: %v", err)
		}
		_, err = release.Publish(ctx, c, tag, files)
		var fe *release.FileError
		switch {
		case errors.As(err, &fe):
			return usagef("--upload %v", err)
		case errors.Is(err, release.ErrSameAsset):
			return usagef("--upload: %v", err)
		case err != nil:
			return err
		}
	}

	// 1. The release and its assets (every page).
	rel, err := release.Open(ctx, c, tag)
	switch {
	case errors.Is(err, gh.ErrReleaseNotFound):
		return usagef("release %q not found in %s (GitHub answered 404): check --tag and --repo, and that the token can read the repository", tag, repo)
	case errors.Is(err, release.ErrNoAssets):
		return usagef("release %s of %s has no asset to sign", tag, repo)
	case err != nil:
		return err
	}

	// 2. One certificate for the run (checks the identity before any download).
	sg, done, err := newSigner(ctx, e, &f, tr) // keyless: release has no key mode
	if err != nil {
		return err
	}
	defer done()
	p, id := sg.Pipeline, sg.Identity

	// 3-5. Download, keep what verifies, sign the rest in one run, upload.
	res, err := rel.Sign(ctx, c, release.Options{
		Replace: replace, Parallel: f.parallel, ReplaceHint: "pass --replace to replace it", Log: e.stderr,
		Keep: func(path string, digest []byte) error {
			_, err := p.Existing(path, digest)
			return err
		},
		Sign: func(ctx context.Context, subjects []sign.Subject) *sign.Report {
			run := f
			run.resume = false // what is signed here was not kept: sign it again
			return runSubjects(ctx, e, p, subjects, &run, nil)
		},
	})
	if err != nil {
		return err
	}
	out := report.Release{Tag: tag, Repo: repo, Result: res, Identity: id.SAN, Issuer: id.Issuer}
	return out.Publish(e.stdout, e.outputs(false))
}
