package sign

import (
	"errors"
	"time"

	"github.com/cachet-sign/cachet/trust"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// Setup chooses the services a run signs with and the trusted root file it checks
// them against, in cosign v3's order: the services the caller named explicitly, else
// those of the signing config file it gave, else (keyless) those of the signing config
// that came with the trust the caller resolved (a TUF repository's, an imported trust
// cache's), else the public-good defaults. It resolves no trust itself: the caller's
// trust.Resolve does, with the notices the caller shows.
type Setup struct {
	// Services are the services as the caller named them; Explicit says which it named
	// itself, which no signing config replaces.
	Services Services
	Explicit Explicit
	// SigningConfig is a file: a signing config v0.2, or a cachet trust envelope, which
	// may bring the trusted root too.
	SigningConfig string
	// TrustedRoot is the trusted root file: ReadSigningConfig sets it to SigningConfig
	// when that brings one and none was named, Resolved to the file used.
	TrustedRoot string
	// KeyMode runs never follow the resolved trust's signing config (they sign with the
	// TSAs the caller names); TLogUpload says a key-mode run records its signatures.
	KeyMode, TLogUpload bool
	// Followed, when set, is told the services a signing config chose: the run's log
	// says what it will talk to.
	Followed func(Services)
	Now      func() time.Time // nil: time.Now
}

// ErrNoSigningConfig is a SigningConfig file that holds a trusted root alone.
var ErrNoSigningConfig = errors.New("holds no signing config")

// SigningConfigError is a signing config that could not be read or followed: the
// SigningConfig file (File), or the one that came with the resolved trust (File empty;
// From says where it came from: a TUF repository, a trust cache directory).
type SigningConfigError struct {
	File, From string
	Err        error
}

func (e *SigningConfigError) Error() string {
	if e.File == "" {
		return "the signing config of " + e.From + ": " + e.Err.Error()
	}
	return "signing config " + e.File + ": " + e.Err.Error()
}

func (e *SigningConfigError) Unwrap() error { return e.Err }

// ReadSigningConfig refuses a Rekor API version cachet does not speak
// (ErrRekorVersion), then reads and follows the SigningConfig file, if any.
func (s *Setup) ReadSigningConfig() error {
	if v := s.Services.RekorVersion; v != 1 && v != 2 {
		return s.Services.Check(false)
	}
	if s.SigningConfig == "" {
		return nil
	}
	m, err := trust.ReadFile(s.SigningConfig)
	if err == nil && m.SigningConfig == nil {
		err = ErrNoSigningConfig
	}
	if err != nil {
		return &SigningConfigError{File: s.SigningConfig, Err: err}
	}
	if s.TrustedRoot == "" && m.TrustedRoot != nil {
		s.TrustedRoot = s.SigningConfig
	}
	if err := s.follow(m.SigningConfig); err != nil {
		return &SigningConfigError{File: s.SigningConfig, Err: err}
	}
	return nil
}

// Resolved takes the trust the caller resolved: its file becomes TrustedRoot, and a
// keyless run without a SigningConfig file follows the signing config that came with
// it (not one beside a trusted root file the caller named). Then the defaults fill
// what nothing named, and Services.Check refuses a log the run cannot use.
func (s *Setup) Resolved(r *trust.Resolved) error {
	s.TrustedRoot = r.Path
	if s.SigningConfig == "" && !s.KeyMode && r.Origin != trust.FromFile && r.SigningConfig != nil {
		from := r.Dir
		if r.Origin == trust.FromTUF {
			from = "TUF repository " + r.Repository
		}
		if err := s.follow(r.SigningConfig); err != nil {
			return &SigningConfigError{From: from, Err: err}
		}
	}
	s.Services.Defaults()
	return s.Services.Check(!s.KeyMode || s.TLogUpload)
}

func (s *Setup) follow(sc *root.SigningConfig) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := s.Services.Follow(sc, now(), s.Explicit); err != nil {
		return err
	}
	if s.Followed != nil {
		s.Followed(s.Services)
	}
	return nil
}
