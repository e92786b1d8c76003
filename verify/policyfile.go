package verify

import (
	"fmt"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// Limits of the small files LoadPolicy reads whole: a policy is a few lines, a PEM
// public key (even RSA 8192 or a short chain of them) a few KiB.
const (
	MaxPolicyFile = 1 << 20
	MaxKeyFile    = 64 << 10
)

// PolicyFileError is a policy or key file LoadPolicy could not read (Parsed false) or
// could read but not parse as a policy (Parsed true).
type PolicyFileError struct {
	Key    bool // the public key file, not the policy file
	Path   string
	Parsed bool
	Err    error
}

func (e *PolicyFileError) Error() string {
	what := "policy file"
	if e.Key {
		what = "key file"
	}
	return fmt.Sprintf("%s %s: %v", what, e.Path, e.Err)
}

func (e *PolicyFileError) Unwrap() error { return e.Err }

// PolicySources are where a policy's rules come from, in order: the policy file, the
// rules given on a command line, and a public key file.
type PolicySources struct {
	File string // a policy file (YAML or JSON, ParsePolicy); none when empty
	// Given are rules given explicitly; each one given reports as named (by its policy
	// key, as Override reads it) replaces the file's.
	Given *Policy
	Named func(key string) bool
	Key   string // a PEM public key file for key-based bundles; none when empty
}

// LoadPolicy reads, merges and validates the policy s describes. An unreadable or
// unparsable file is a *PolicyFileError; a policy that merges into something unusable
// is ErrPolicy.
func LoadPolicy(s PolicySources) (*Policy, error) {
	p := &Policy{}
	if s.File != "" {
		data, err := regfile.ReadFile(s.File, MaxPolicyFile)
		if err != nil {
			return nil, &PolicyFileError{Path: s.File, Err: err}
		}
		if p, err = ParsePolicy(data); err != nil {
			return nil, &PolicyFileError{Path: s.File, Parsed: true, Err: err}
		}
	}
	if s.Given != nil && s.Named != nil {
		p.Override(s.Given, s.Named)
	}
	if s.Key != "" {
		b, err := regfile.ReadFile(s.Key, MaxKeyFile)
		if err != nil {
			return nil, &PolicyFileError{Key: true, Path: s.Key, Err: err}
		}
		p.KeyPEM = string(b)
	}
	return p, p.Validate()
}
