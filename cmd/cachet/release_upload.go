package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/internal/names"
)

// publishAssets checks the --upload files (regular, a name without control characters,
// no two with one base name) and has GitHub's release for tag hold each under its base
// name, creating the release for an existing tag when there is none (gh.PublishAssets:
// an existing asset of the same name must have the same content).
func publishAssets(ctx context.Context, c *gh.Client, tag string, files []string) (*gh.Release, error) {
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
		if names.HasControl(b) {
			return nil, usagef("--upload %s: the name holds a control character; rename the file", names.Shown(f))
		}
		if prev, dup := byName[b]; dup {
			return nil, usagef("--upload: %s and %s would be the same asset %s", prev, f, b)
		}
		byName[b] = f
	}
	return c.PublishAssets(ctx, tag, byName)
}
