//go:build unix

package policy

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// readTrusted reads the policy or approvals file at real (an absolute path with its
// symbolic links resolved) when only root can have written it and every directory
// from / down to it: each is owned by root, not writable by group or others (a
// root-owned sticky directory such as /tmp is allowed above it: nobody else can rename
// root's entries in it), and not writable by the invoking user through ACLs or
// capabilities when that user is not root. The file is then opened without following a
// link and must be the very file checked (device and inode), so nothing can be swapped
// in between. Read through a limit: stat's size is not trusted.
func readTrusted(real string) ([]byte, error) {
	if !filepath.IsAbs(real) {
		return nil, fmt.Errorf("%w: %s is not an absolute path", ErrUntrusted, real)
	}
	euid := os.Geteuid()
	var checked fs.FileInfo
	chain := []string{"/"}
	for p, rest := "/", strings.TrimPrefix(filepath.Clean(real), "/"); rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		p = filepath.Join(p, c)
		chain = append(chain, p)
	}
	for i, p := range chain {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		last := i == len(chain)-1
		m := fi.Mode()
		switch {
		case m&fs.ModeSymlink != 0:
			return nil, untrusted(p, "became a symbolic link while it was checked")
		case last && !m.IsRegular():
			return nil, untrusted(p, "is not a regular file")
		case !last && !m.IsDir():
			return nil, untrusted(p, "is not a directory")
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil, untrusted(p, "has no owner this system reports")
		}
		if st.Uid != 0 {
			return nil, untrusted(p, "is owned by uid %d, not root", st.Uid)
		}
		sticky := !last && m&fs.ModeSticky != 0
		if m.Perm()&0o022 != 0 && !sticky {
			return nil, untrusted(p, "is writable by its group or others (mode %04o)", m.Perm())
		}
		if euid != 0 && !sticky && unix.Faccessat(unix.AT_FDCWD, p, unix.W_OK, unix.AT_EACCESS) == nil {
			return nil, untrusted(p, "is writable by the invoking user (uid %d)", euid)
		}
		checked = fi
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if !os.SameFile(fi, checked) || !fi.Mode().IsRegular() {
		return nil, untrusted(real, "changed while it was checked")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrPolicy, real, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrPolicy, real, maxFile)
	}
	return b, nil
}
