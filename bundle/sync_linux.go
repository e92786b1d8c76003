package bundle

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the written files durable: fsync for one, and for a group one
// syncfs(2) per file system, which writes back and commits all of them at once (since
// Linux 5.8 it also reports a writeback error of any file of the file system).
func syncFiles(files []*os.File) error {
	if len(files) == 1 {
		return files[0].Sync()
	}
	synced := map[uint64]bool{}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return err
		}
		if synced[st.Dev] {
			continue
		}
		if err := unix.Syncfs(int(f.Fd())); err != nil {
			return err
		}
		synced[st.Dev] = true
	}
	return nil
}
