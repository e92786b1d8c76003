package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cachet-sign/cachet/internal/gh"
	"github.com/cachet-sign/cachet/internal/names"
)

// ErrSameAsset is two files to publish with one base name: one asset name.
var ErrSameAsset = errors.New("would be the same asset")

// FileError is a file Publish refuses before anything is uploaded.
type FileError struct {
	File string // as given, names.Shown when it holds a control character
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Assets maps the files to publish to their asset names (base names), refusing a file
// that is not regular (a *FileError), a name with a control character (a *FileError)
// and two files with one base name (ErrSameAsset).
func Assets(files []string) (map[string]string, error) {
	byName := map[string]string{}
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil {
			return nil, &FileError{f, err}
		}
		if !fi.Mode().IsRegular() {
			return nil, &FileError{f, errors.New("not a regular file")}
		}
		b := filepath.Base(f)
		if names.HasControl(b) {
			return nil, &FileError{names.Shown(f), errors.New("the name holds a control character; rename the file")}
		}
		if prev, dup := byName[b]; dup {
			return nil, fmt.Errorf("%s and %s %w %s", prev, f, ErrSameAsset, b)
		}
		byName[b] = f
	}
	return byName, nil
}

// Publish has GitHub's release for tag hold each of files under its base name (Assets
// checks them first), creating the release for an existing tag when there is none
// (gh.PublishAssets: an existing asset of the same name must have the same content).
func Publish(ctx context.Context, c *gh.Client, tag string, files []string) (*gh.Release, error) {
	byName, err := Assets(files)
	if err != nil {
		return nil, err
	}
	return c.PublishAssets(ctx, tag, byName)
}
