package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/google/go-github/v60/github"
)

// publishAssets makes sure repo's release for tag exists (creating it, not a draft, for
// an existing tag) and holds every file in files under its base name. An asset already
// there with the same name is kept when its content is the file's (a re-run after a
// failure), and refused otherwise: a release's assets are not silently replaced. It
// returns the release.
func publishAssets(ctx context.Context, gh *github.Client, rl *ghRetry, owner, name, tag string, files []string, log io.Writer) (*github.RepositoryRelease, error) {
	byName := map[string]string{}
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil {
			return nil, usagef("--upload %s: %v", f, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, usagef("--upload %s: not a regular file", f)
		}
		b := filepath.Base(f)
		if hasControl(b) {
			return nil, usagef("--upload %s: the name holds a control character; rename the file", shown(f))
		}
		if prev, dup := byName[b]; dup {
			return nil, usagef("--upload: %s and %s would be the same asset %s", prev, f, b)
		}
		byName[b] = f
	}
	var rel *github.RepositoryRelease
	err := rl.do(ctx, "get release", func() (*github.Response, error) {
		var resp *github.Response
		var err error
		rel, resp, err = gh.Repositories.GetReleaseByTag(ctx, owner, name, tag)
		return resp, err
	})
	if isStatus(err, http.StatusNotFound) {
		err = rl.do(ctx, "create release", func() (*github.Response, error) {
			var resp *github.Response
			var err error
			rel, resp, err = gh.Repositories.CreateRelease(ctx, owner, name, &github.RepositoryRelease{
				TagName: github.String(tag), Name: github.String(tag)})
			return resp, err
		})
		if err != nil {
			return nil, fmt.Errorf("github: create release %s of %s/%s (the tag must exist, the token needs contents: write): %w", tag, owner, name, err)
		}
		fmt.Fprintf(log, "created release %s\n", tag)
	} else if err != nil {
		return nil, fmt.Errorf("github: release %s of %s/%s: %w", tag, owner, name, err)
	}
	existing := map[string]*github.ReleaseAsset{}
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
			return nil, fmt.Errorf("github: list assets of release %s: %w", tag, err)
		}
		for _, a := range page {
			existing[a.GetName()] = a
		}
		if next == 0 {
			break
		}
		opt.Page = next
	}
	tmp, err := os.MkdirTemp("", "cachet-upload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dl := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	for _, b := range sortedKeys(byName) {
		f := byName[b]
		want, err := regfile.SHA256(ctx, f)
		if err != nil {
			return nil, err
		}
		if a := existing[b]; a != nil {
			got, err := download(ctx, gh, rl, dl, owner, name, a.GetID(), filepath.Join(tmp, "existing"), true, 0)
			if err != nil {
				return nil, fmt.Errorf("download the release's %s: %w", shown(b), err)
			}
			if !bytes.Equal(got, want) {
				return nil, fmt.Errorf("release %s already has an asset %s with other content: delete it on GitHub or release under a new tag", tag, shown(b))
			}
			fmt.Fprintf(log, "kept asset %s: the same content\n", shown(b))
			continue
		}
		media := "application/octet-stream"
		if strings.HasSuffix(b, ".json") {
			media = "application/json"
		}
		err = rl.do(ctx, "upload "+b, func() (*github.Response, error) {
			fh, err := regfile.Open(f)
			if err != nil {
				return nil, err
			}
			defer fh.Close()
			_, resp, err := gh.Repositories.UploadReleaseAsset(ctx, owner, name, rel.GetID(), &github.UploadOptions{Name: b, MediaType: media}, fh)
			return resp, err
		})
		if err != nil {
			return nil, fmt.Errorf("github: upload %s to release %s: %w", shown(b), tag, err)
		}
		fmt.Fprintf(log, "uploaded asset %s\n", shown(b))
	}
	return rel, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
