// Package progress shows a long run's advance on stderr: a redrawn bar with counts and
// rate on a terminal, a plain line every 5 s or every 10% otherwise (CI logs keep every
// line).
package progress

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress shows a run's advance on stderr: a redrawn bar with counts and rate on a
// terminal, a plain line every 5 s or every 10% otherwise (CI logs keep every line).
type Progress struct {
	mu                      sync.Mutex
	w                       io.Writer
	mode                    string // bar, lines, none
	total, done, fail, kept int
	start, lastLine         time.Time
	lastDecile              int
	stopOnce                sync.Once
	quit                    chan struct{}
	drawn                   bool
}

// CheckMode refuses a mode New does not know, in words a caller puts after its own
// name for it.
func CheckMode(mode string) error {
	switch mode {
	case "auto", "bar", "lines", "none":
		return nil
	}
	return errors.New("want auto, bar, lines or none")
}

// New starts a display of total items in mode auto (bar on a terminal, else lines),
// bar, lines or none. Stop it when the run ends.
func New(w io.Writer, mode string, total int) *Progress {
	if mode == "auto" {
		mode = "lines"
		if isTerminal(w) {
			mode = "bar"
		}
	}
	p := &Progress{w: w, mode: mode, total: total, start: time.Now(), lastLine: time.Now(), quit: make(chan struct{})}
	if mode != "none" {
		// A tick keeps the display alive while retries hold every worker.
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-p.quit:
					return
				case <-t.C:
					p.mu.Lock()
					p.tick(false)
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add records one finished item and prints its line above the bar.
func (p *Progress) Add(failed, kept bool, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	switch {
	case failed:
		p.fail++
	case kept:
		p.kept++
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, line)
	p.tick(true)
}

func (p *Progress) tick(finished bool) {
	if p.total < 2 {
		return
	}
	now := time.Now()
	rate := float64(p.done) / max(now.Sub(p.start).Seconds(), 1e-3)
	switch p.mode {
	case "bar":
		const width = 30
		n := width * p.done / p.total
		eta := "-"
		if rate > 0 && p.done < p.total {
			eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d  %d failed  %d kept  %.1f/s  eta %s",
			strings.Repeat("#", n), strings.Repeat(".", width-n), p.done, p.total, p.fail, p.kept, rate, eta)
		p.drawn = true
	case "lines":
		decile := 10 * p.done / p.total
		if (finished && decile > p.lastDecile) || now.Sub(p.lastLine) >= 5*time.Second {
			fmt.Fprintf(p.w, "progress: %d/%d (%d%%), %d failed, %d kept, %.1f/s, %s elapsed\n",
				p.done, p.total, 100*p.done/p.total, p.fail, p.kept, rate, now.Sub(p.start).Round(time.Second))
			p.lastLine, p.lastDecile = now, decile
		}
	}
}

// Stop ends the display (once; later calls do nothing).
func (p *Progress) Stop() {
	p.stopOnce.Do(func() {
		close(p.quit)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.drawn {
			fmt.Fprintln(p.w)
			p.drawn = false
		}
	})
}
