//go:build unix

package tsa

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path, held until unlock or process exit
// (the kernel drops it on kill -9, so a crash never leaves a stale lock).
func lockFile(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("tsa: serial state lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrSerialsLocked, path)
		}
		return nil, fmt.Errorf("tsa: serial state lock: %w", err)
	}
	return f.Close, nil
}
