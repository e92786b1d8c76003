//go:build !linux

package bundle

import "os"

// syncFiles makes the written files durable: fsync of each.
func syncFiles(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
