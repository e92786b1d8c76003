package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/internal/names"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/sign"
)

// BundleSuffix names a bundle asset: <asset>.sigstore.json, next to its asset.
const BundleSuffix = ".sigstore.json"

// ErrNoAssets is a release with nothing to sign: no asset, or only bundles.
var ErrNoAssets = errors.New("the release has no asset to sign")

// Release is a release's assets, sorted into what to sign and the bundles beside them.
type Release struct {
	Release *gh.Release
	Assets  []gh.Asset          // to sign: every asset that is not a bundle
	Bundles map[string]gh.Asset // bundle assets by name
}

// Open finds the release for tag (gh.ErrReleaseNotFound when GitHub has none) and
// sorts its assets; a release with nothing to sign is ErrNoAssets.
func Open(ctx context.Context, c *gh.Client, tag string) (*Release, error) {
	rel, err := c.Release(ctx, tag)
	if err != nil {
		return nil, err
	}
	assets, err := c.Assets(ctx, rel)
	if err != nil {
		return nil, err
	}
	r := &Release{Release: rel, Bundles: map[string]gh.Asset{}}
	for _, as := range assets {
		if strings.HasSuffix(as.Name, BundleSuffix) {
			r.Bundles[as.Name] = as
		} else {
			r.Assets = append(r.Assets, as)
		}
	}
	if len(r.Assets) == 0 {
		return nil, ErrNoAssets
	}
	return r, nil
}

// Options say how Sign signs the release's assets.
type Options struct {
	// Replace signs every asset again and replaces its bundle asset, valid or not.
	// False keeps a bundle asset that Keep accepts and fails an asset whose bundle it
	// rejects (the fix is the caller's: sign again with Replace).
	Replace bool
	// Parallel bounds the downloads at once (at most 4; 1 when zero).
	Parallel int
	// Keep checks an existing bundle, downloaded to path, for the asset's digest
	// (sign.Pipeline.Existing). Required unless Replace.
	Keep func(path string, digest []byte) error
	// Sign signs the subjects in one run (sign.Pipeline.SignAll, with the caller's
	// progress) and reports what it did. Required.
	Sign func(ctx context.Context, subjects []sign.Subject) *sign.Report
	// ReplaceHint ends the reason of an asset whose bundle asset is not kept: how to
	// have it replaced ("pass --replace to replace it" on the command line). Default:
	// "sign it again with Replace to replace it".
	ReplaceHint string
	// Log gets a line per bundle kept, uploaded or replaced; nil discards them.
	Log io.Writer
}

// Result is what Sign did to the release.
type Result struct {
	Assets                   int // assets to sign
	Uploaded, Replaced, Kept int
	// Failed are "ASSET: reason" lines of the assets left without a valid bundle.
	Failed []string
}

// Err names every asset left without a valid bundle, or is nil.
func (r *Result) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d release assets have no valid bundle (the others' are valid):\n  %s",
		len(r.Failed), r.Assets, strings.Join(r.Failed, "\n  "))
}

type item struct {
	asset    gh.Asset
	existing *gh.Asset
	subject  sign.Subject
	err      error
}

// Sign downloads every asset (and, unless Replace, its bundle asset) to a temporary
// directory, hashing on the way, keeps what verifies, signs the rest in one o.Sign run
// and uploads each new bundle. One asset's failure does not stop the others: it is in
// Result.Failed.
func (r *Release) Sign(ctx context.Context, c *gh.Client, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	if o.ReplaceHint == "" {
		o.ReplaceHint = "sign it again with Replace to replace it"
	}
	tmp, err := os.MkdirTemp("", "cachet-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	items := r.download(ctx, c, tmp, o)

	// Keep what verifies; sign the rest in one run.
	res := &Result{Assets: len(r.Assets)}
	var toSign []sign.Subject
	var signItems []*item
	for _, it := range items {
		switch {
		case it.err != nil:
			res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", names.Shown(it.asset.Name), it.err))
		case it.existing != nil && !o.Replace:
			if err := o.Keep(it.subject.Bundle, it.subject.Digest); err != nil {
				res.Failed = append(res.Failed, fmt.Sprintf("%s: the release's %s does not verify for this identity and the asset (%v); %s",
					names.Shown(it.asset.Name), names.Shown(it.existing.Name), err, o.ReplaceHint))
				continue
			}
			res.Kept++
			fmt.Fprintf(log, "kept %s: it verifies\n", names.Shown(it.existing.Name))
		default:
			toSign = append(toSign, it.subject)
			signItems = append(signItems, it)
		}
	}
	if len(toSign) == 0 {
		return res, nil
	}
	rep := o.Sign(ctx, toSign)
	res.Failed = append(res.Failed, rep.Failed...)
	res.Failed = append(res.Failed, rep.Refused...)
	ok := map[string]bool{}
	for _, s := range rep.Signed {
		ok[s.Subject.Bundle] = true
	}
	var lines []string
	for _, it := range signItems {
		if ok[it.subject.Bundle] {
			if line, err := r.upload(ctx, c, it); err != nil {
				res.Failed = append(res.Failed, err.Error())
			} else if it.existing != nil {
				res.Replaced++
				lines = append(lines, line)
			} else {
				res.Uploaded++
				lines = append(lines, line)
			}
		}
	}
	for _, l := range lines {
		fmt.Fprintln(log, l)
	}
	return res, nil
}

// download fetches each asset, and unless Replace its bundle, o.Parallel at a time.
func (r *Release) download(ctx context.Context, c *gh.Client, tmp string, o Options) []*item {
	items := make([]*item, len(r.Assets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(max(o.Parallel, 1), 4))
	for i, as := range r.Assets {
		it := &item{asset: as}
		if b, ok := r.Bundles[as.Name+BundleSuffix]; ok {
			it.existing = &b
		}
		items[i] = it
		dir := filepath.Join(tmp, strconv.Itoa(i))
		it.subject = sign.Subject{Name: as.Name, Path: filepath.Join(dir, filepath.Base(as.Name)),
			Bundle: filepath.Join(dir, filepath.Base(as.Name)+BundleSuffix)}
		if names.HasControl(as.Name) {
			it.err = errors.New("the asset's name holds a control character; a line break would split the bundle-paths output and could inject workflow commands into the log: rename the asset")
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			it.err = fetch(ctx, c, it, dir, o)
		})
	}
	wg.Wait()
	return items
}

func fetch(ctx context.Context, c *gh.Client, it *item, dir string, o Options) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	d, err := c.Download(ctx, it.asset.ID, it.subject.Path, 0)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	it.subject.Digest = d
	if it.existing == nil || o.Replace {
		return nil
	}
	if n := it.existing.Size; n > bundle.MaxSize {
		return fmt.Errorf("the release's %s is %s, larger than any bundle (%s): not a bundle cachet keeps; %s",
			names.Shown(it.existing.Name), regfile.Size(n), regfile.Size(bundle.MaxSize), o.ReplaceHint)
	}
	if _, err := c.Download(ctx, it.existing.ID, it.subject.Bundle, bundle.MaxSize); err != nil {
		return fmt.Errorf("download %s: %w", it.existing.Name, err)
	}
	return nil
}

// upload puts the item's new bundle on the release, deleting the old one first when there
// is one (Replace); it returns the line saying so.
func (r *Release) upload(ctx context.Context, c *gh.Client, it *item) (string, error) {
	bname := it.asset.Name + BundleSuffix
	if it.existing != nil {
		if err := c.DeleteAsset(ctx, *it.existing); err != nil {
			return "", fmt.Errorf("%s: delete the old %s: %v", it.asset.Name, bname, err)
		}
	}
	_, err := c.Upload(ctx, r.Release, bname, it.subject.Bundle, "application/json")
	if errors.Is(err, gh.ErrAssetExists) {
		err = fmt.Errorf("%w (an asset named %s appeared meanwhile; run again to check it)", err, bname)
	}
	if err != nil {
		return "", fmt.Errorf("%s: upload %s: %v", it.asset.Name, bname, err)
	}
	if it.existing != nil {
		return "replaced " + bname, nil
	}
	return "uploaded " + bname, nil
}
