package gh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/google/go-github/v60/github"
)

// Release is a release's identity.
type Release struct {
	ID  int64
	Tag string
}

// Asset is one release asset.
type Asset struct {
	ID   int64
	Name string
	Size int64
}

// Release returns the release for tag; ErrReleaseNotFound when GitHub answers 404.
func (c *Client) Release(ctx context.Context, tag string) (*Release, error) {
	rel, _, err := c.api.Repositories.GetReleaseByTag(op(ctx, "get release"), c.Owner, c.Name, tag)
	if IsStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("release %s of %s: %w: %w", tag, c.Repo(), ErrReleaseNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("github: release %s of %s: %w", tag, c.Repo(), err)
	}
	return &Release{ID: rel.GetID(), Tag: rel.GetTagName()}, nil
}

// CreateRelease creates the release (not a draft) for an existing tag.
func (c *Client) CreateRelease(ctx context.Context, tag string) (*Release, error) {
	rel, _, err := c.api.Repositories.CreateRelease(op(ctx, "create release"), c.Owner, c.Name,
		&github.RepositoryRelease{TagName: github.String(tag), Name: github.String(tag)})
	if err != nil {
		return nil, fmt.Errorf("github: create release %s of %s (the tag must exist, the token needs contents: write): %w", tag, c.Repo(), err)
	}
	return &Release{ID: rel.GetID(), Tag: tag}, nil
}

// Assets lists every asset of rel, following the pages.
func (c *Client) Assets(ctx context.Context, rel *Release) ([]Asset, error) {
	var out []Asset
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.api.Repositories.ListReleaseAssets(op(ctx, "list assets"), c.Owner, c.Name, rel.ID, opt)
		if err != nil {
			return nil, fmt.Errorf("github: list assets of release %s: %w", rel.Tag, err)
		}
		for _, a := range page {
			out = append(out, Asset{ID: a.GetID(), Name: a.GetName(), Size: int64(a.GetSize())})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Download streams asset id to path and returns its SHA-256. The API answers with a
// redirect to storage, which is followed without the token (storage refuses a request
// that carries it). A download cut short is started again; more than limit bytes
// (when positive) is an error.
func (c *Client) Download(ctx context.Context, id int64, path string, limit int64) ([]byte, error) {
	ctx = op(ctx, "download asset "+strconv.FormatInt(id, 10))
	var digest []byte
	err := c.retry.Repeat(ctx, "download interrupted", func() (bool, error) {
		rc, _, err := c.api.Repositories.DownloadReleaseAsset(ctx, c.Owner, c.Name, id, c.dl)
		if err != nil {
			return false, err // the transport retried what was worth it
		}
		defer rc.Close()
		fh, err := os.Create(path)
		if err != nil {
			return false, err
		}
		h := sha256.New()
		src := &readErrs{r: rc}
		var r io.Reader = src
		if limit > 0 {
			r = io.LimitReader(src, limit+1)
		}
		n, err := io.Copy(io.MultiWriter(fh, h), r)
		if err == nil && limit > 0 && n > limit {
			err = fmt.Errorf("longer than %s", regfile.Size(limit))
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// Cut short on the network side: again. Writing here failed (disk full,
			// permissions): again changes nothing.
			return src.err != nil, err
		}
		digest = h.Sum(nil)
		return false, nil
	})
	return digest, err
}

// readErrs remembers a read error, so a copy's failure can be told apart: the network
// side (worth retrying) or the local file (not). A bare syscall.Errno satisfies
// net.Error, so that interface alone cannot tell the network from the disk.
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

// Upload publishes the file at path as asset name of rel. The file is opened again
// for each attempt, so a retried upload sends it whole; ErrAssetExists when the
// release has an asset of that name (perhaps made by an attempt whose answer was lost).
func (c *Client) Upload(ctx context.Context, rel *Release, name, path, mediaType string) (Asset, error) {
	fh, err := regfile.Open(path)
	if err != nil {
		return Asset{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return Asset{}, err
	}
	u := fmt.Sprintf("repos/%s/%s/releases/%d/assets?%s", url.PathEscape(c.Owner), url.PathEscape(c.Name), rel.ID,
		url.Values{"name": {name}}.Encode())
	req, err := c.api.NewUploadRequest(u, fh, fi.Size(), mediaType)
	if err != nil {
		return Asset{}, err
	}
	req.GetBody = func() (io.ReadCloser, error) { return regfile.Open(path) }
	var a github.ReleaseAsset
	if _, err := c.api.Do(op(ctx, "upload "+name), req, &a); err != nil {
		if IsStatus(err, http.StatusUnprocessableEntity) {
			return Asset{}, fmt.Errorf("%w: %w", ErrAssetExists, err)
		}
		return Asset{}, err
	}
	return Asset{ID: a.GetID(), Name: a.GetName(), Size: int64(a.GetSize())}, nil
}

// DeleteAsset deletes an asset; one already gone is no error.
func (c *Client) DeleteAsset(ctx context.Context, a Asset) error {
	_, err := c.api.Repositories.DeleteReleaseAsset(op(ctx, "delete "+a.Name), c.Owner, c.Name, a.ID)
	if IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// PublishAssets makes sure the release for tag exists (creating it, not a draft, for
// an existing tag) and holds every file of files (asset name -> path; names the
// caller checked). An asset already there with the same name is kept when its content
// is the file's (a re-run after a failure), and refused otherwise (ErrAssetConflict):
// a release's assets are not silently replaced. Progress goes to Options.Log.
func (c *Client) PublishAssets(ctx context.Context, tag string, files map[string]string) (*Release, error) {
	rel, err := c.Release(ctx, tag)
	if errors.Is(err, ErrReleaseNotFound) {
		if rel, err = c.CreateRelease(ctx, tag); err != nil {
			return nil, err
		}
		c.logf("created release %s\n", tag)
	} else if err != nil {
		return nil, err
	}
	assets, err := c.Assets(ctx, rel)
	if err != nil {
		return nil, err
	}
	existing := map[string]Asset{}
	for _, a := range assets {
		existing[a.Name] = a
	}
	tmp, err := os.MkdirTemp("", "cachet-upload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		path := files[name]
		want, err := regfile.SHA256(ctx, path)
		if err != nil {
			return nil, err
		}
		if a, ok := existing[name]; ok {
			got, err := c.Download(ctx, a.ID, filepath.Join(tmp, "existing"), 0)
			if err != nil {
				return nil, fmt.Errorf("download the release's %s: %w", name, err)
			}
			if !bytes.Equal(got, want) {
				return nil, &AssetConflictError{Tag: tag, Name: name}
			}
			c.logf("kept asset %s: the same content\n", name)
			continue
		}
		media := "application/octet-stream"
		if strings.HasSuffix(name, ".json") {
			media = "application/json"
		}
		if _, err := c.Upload(ctx, rel, name, path, media); err != nil {
			return nil, fmt.Errorf("github: upload %s to release %s: %w", name, tag, err)
		}
		c.logf("uploaded asset %s\n", name)
	}
	return rel, nil
}

// AssetConflictError is a file to publish whose name an asset with other content has.
type AssetConflictError struct{ Tag, Name string }

func (e *AssetConflictError) Error() string {
	return fmt.Sprintf("release %s already has an asset %s with other content: delete it on GitHub or release under a new tag", e.Tag, e.Name)
}

// Is makes errors.Is(err, ErrAssetConflict) true.
func (e *AssetConflictError) Is(target error) bool { return target == ErrAssetConflict }
