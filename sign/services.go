package sign

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/trust"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// The public-good services, when neither the caller nor a signing config names one.
const (
	DefaultFulcio = "https://fulcio.sigstore.dev"
	DefaultRekor  = "https://rekor.sigstore.dev"
)

// ErrRekorVersion is a Rekor API version other than 1 (Rekor) or 2 (rekor-tiles).
var ErrRekorVersion = errors.New("unknown Rekor API version: want 1 (Rekor) or 2 (rekor-tiles)")

// Services are the Sigstore services a run signs with.
type Services struct {
	FulcioURL    string
	RekorURL     string
	RekorVersion uint // 1 or 2
	TSAURLs      []string
}

// Explicit says which services the caller named itself; a signing config does not
// replace those.
type Explicit struct{ Fulcio, Rekor, TSA bool }

// Follow fills the services not named explicitly from sc, as cosign v3 does: the newest
// valid Fulcio, the Rekor log of the highest API version the config lists, and the TSAs
// its selector picks (each of which must then answer); then the defaults.
func (s *Services) Follow(sc *root.SigningConfig, now time.Time, ex Explicit) error {
	// What the caller names is not selected from the config, so a config that cannot
	// supply it does not stand in the way.
	if ex.Fulcio {
		sc.WithFulcioCertificateAuthorityURLs()
	}
	if ex.Rekor {
		sc.WithRekorLogURLs()
	}
	if ex.TSA {
		sc.WithTimestampAuthorityURLs()
	}
	sel, err := trust.Select(sc, now)
	if err != nil {
		return err
	}
	if sel.FulcioURL != "" {
		s.FulcioURL = sel.FulcioURL
	}
	if sel.RekorURL != "" {
		s.RekorURL, s.RekorVersion = sel.RekorURL, uint(sel.RekorVersion)
	}
	if len(sel.TSAURLs) > 0 {
		s.TSAURLs = sel.TSAURLs
	}
	s.Defaults()
	return nil
}

// Defaults fills the service URLs nothing named with the public-good ones.
func (s *Services) Defaults() {
	if s.FulcioURL == "" {
		s.FulcioURL = DefaultFulcio
	}
	if s.RekorURL == "" {
		s.RekorURL = DefaultRekor
	}
	if s.RekorVersion == 0 {
		s.RekorVersion = 1
	}
}

// String is the services on one line, for the log.
func (s *Services) String() string {
	return fmt.Sprintf("Fulcio %s, Rekor %s (v%d), %d TSA(s) %s", s.FulcioURL, s.RekorURL, s.RekorVersion, len(s.TSAURLs), strings.Join(s.TSAURLs, " "))
}

// Check refuses a Rekor API version cachet does not speak, and a Rekor v2 log with no
// TSA when the run records its signatures (logged is false only for key mode without a
// log upload).
func (s *Services) Check(logged bool) error {
	if s.RekorVersion != 1 && s.RekorVersion != 2 {
		return fmt.Errorf("%w (got %d)", ErrRekorVersion, s.RekorVersion)
	}
	if s.RekorVersion == 2 && len(s.TSAURLs) == 0 && logged {
		return tlog.ErrNeedsTimestamp
	}
	return nil
}

// Log is the run's transparency-log client, Rekor v1 or v2, for a Pipeline.
func (s *Services) Log(tr root.TrustedMaterial) tlog.Log {
	// Every pipeline verifies its finished bundles, log entries included, before it
	// writes them.
	if s.RekorVersion == 2 {
		return &tlog.RekorV2{URL: s.RekorURL, Trusted: tr, CheckedLater: true}
	}
	return &tlog.Rekor{URL: s.RekorURL, Trusted: tr, CheckedLater: true}
}

// TSA is the run's timestamp client (every TSA must answer), or nil without TSAs; its
// retries jitter (internal/httpretry), so parallel workers that failed together do not
// retry together.
func (s *Services) TSA(tr root.TrustedMaterial, hc *http.Client) *tsa.Client {
	if len(s.TSAURLs) == 0 {
		return nil
	}
	return &tsa.Client{URLs: s.TSAURLs, Mode: tsa.All, Trusted: tr.TimestampingAuthorities(), HTTPClient: hc}
}
