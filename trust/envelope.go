package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cachet-sign/cachet/internal/inputerr"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// MediaType names a cachet trust envelope.
const MediaType = "application/vnd.cachet.trust.v1+json"

// Media types of the members, as Sigstore writes them.
const (
	TrustedRootMediaType   = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
	SigningConfigMediaType = root.SigningConfigMediaType02
)

// File names Import writes, the target names of the Sigstore TUF repository.
const (
	TrustedRootFile   = "trusted_root.json"
	SigningConfigFile = "signing_config.v0.2.json"
)

// ErrDigestMismatch is an envelope whose member does not match its recorded digest: a
// truncated, corrupted or edited copy.
var ErrDigestMismatch = errors.New("trust envelope: digest mismatch: the file was changed after export; export it again from the source")

// Envelope is the file `cachet trust export` writes: a trusted root and optionally a
// signing config, each with the SHA-256 of its compact JSON.
type Envelope struct {
	MediaType     string            `json:"mediaType"`
	TrustedRoot   json.RawMessage   `json:"trustedRoot"`
	SigningConfig json.RawMessage   `json:"signingConfig,omitempty"`
	Digests       map[string]string `json:"digests"` // member name -> "sha256:HEX"
}

// Material is what a trust file holds, parsed, with the bytes it was parsed from.
type Material struct {
	TrustedRoot       *root.TrustedRoot
	TrustedRootJSON   []byte
	SigningConfig     *root.SigningConfig
	SigningConfigJSON []byte
}

// Export makes an envelope from a trusted root and a signing config (nil for none),
// after checking that both parse.
func Export(trustedRoot, signingConfig []byte) ([]byte, error) {
	env := Envelope{MediaType: MediaType, Digests: map[string]string{}}
	tr, err := compact(trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if _, err := root.NewTrustedRootFromJSON(tr); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	env.TrustedRoot, env.Digests["trustedRoot"] = tr, digest(tr)
	if signingConfig != nil {
		sc, err := compact(signingConfig)
		if err != nil {
			return nil, fmt.Errorf("signing config: %w", err)
		}
		if _, err := root.NewSigningConfigFromJSON(sc); err != nil {
			return nil, fmt.Errorf("signing config: %w", err)
		}
		env.SigningConfig, env.Digests["signingConfig"] = sc, digest(sc)
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ExportFileError is a file ExportFiles could not read: the trusted root, or (when
// SigningConfig) the signing config.
type ExportFileError struct {
	SigningConfig bool
	Err           error
}

func (e *ExportFileError) Error() string { return e.Err.Error() }
func (e *ExportFileError) Unwrap() error { return e.Err }

// ExportFiles is Export of the trusted root file and the signing config file
// (signingConfig "" for none), each a regular file of at most MaxFileSize.
func ExportFiles(trustedRoot, signingConfig string) ([]byte, error) {
	tr, err := regfile.ReadFile(trustedRoot, MaxFileSize)
	if err != nil {
		return nil, &ExportFileError{Err: err}
	}
	var sc []byte
	if signingConfig != "" {
		if sc, err = regfile.ReadFile(signingConfig, MaxFileSize); err != nil {
			return nil, &ExportFileError{SigningConfig: true, Err: err}
		}
	}
	return Export(tr, sc)
}

// Parse reads a trust envelope, a plain trusted_root.json or a plain signing config.
// An envelope's members must match their digests.
func Parse(data []byte) (*Material, error) {
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a trust envelope, trusted root or signing config: %s", inputerr.Describe(err))
	}
	m := &Material{}
	var err error
	switch head.MediaType {
	case MediaType:
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			return nil, fmt.Errorf("trust envelope: %s", inputerr.Describe(err))
		}
		if len(env.TrustedRoot) == 0 || string(env.TrustedRoot) == "null" {
			return nil, errors.New("trust envelope: no trusted root")
		}
		if m.TrustedRootJSON, err = checked(env.TrustedRoot, env.Digests["trustedRoot"], "trustedRoot"); err != nil {
			return nil, err
		}
		if m.TrustedRoot, err = root.NewTrustedRootFromJSON(m.TrustedRootJSON); err != nil {
			return nil, fmt.Errorf("trust envelope: trusted root: %s", inputerr.Describe(err))
		}
		if len(env.SigningConfig) > 0 && string(env.SigningConfig) != "null" {
			if m.SigningConfigJSON, err = checked(env.SigningConfig, env.Digests["signingConfig"], "signingConfig"); err != nil {
				return nil, err
			}
			if m.SigningConfig, err = root.NewSigningConfigFromJSON(m.SigningConfigJSON); err != nil {
				return nil, fmt.Errorf("trust envelope: signing config: %s", inputerr.Describe(err))
			}
		} else if env.Digests["signingConfig"] != "" {
			return nil, fmt.Errorf("%w (signingConfig removed)", ErrDigestMismatch)
		}
	case TrustedRootMediaType:
		if m.TrustedRoot, err = root.NewTrustedRootFromJSON(data); err != nil {
			return nil, fmt.Errorf("trusted root: %s", inputerr.Describe(err))
		}
		m.TrustedRootJSON = data
	case SigningConfigMediaType:
		if m.SigningConfig, err = root.NewSigningConfigFromJSON(data); err != nil {
			return nil, fmt.Errorf("signing config: %s", inputerr.Describe(err))
		}
		m.SigningConfigJSON = data
	default:
		// The media type is not quoted: the file may not be what its name says.
		return nil, fmt.Errorf("its media type is none of %s, %s or %s", MediaType, TrustedRootMediaType, SigningConfigMediaType)
	}
	return m, nil
}

// MaxFileSize bounds a trust file: the public-good trusted root is about 10 KiB, and
// an instance with many keys and a long history is still far below this.
const MaxFileSize = 4 << 20

// ReadFile parses the trust file at path (see Parse): a regular file of at most
// MaxFileSize bytes.
func ReadFile(path string) (*Material, error) {
	b, err := regfile.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Import writes m's members into dir as trusted_root.json and signing_config.v0.2.json
// (when present), each through a temporary file renamed into place. It returns the
// paths written.
func Import(m *Material, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range []struct {
		name string
		data []byte
	}{{TrustedRootFile, m.TrustedRootJSON}, {SigningConfigFile, m.SigningConfigJSON}} {
		if f.data == nil {
			continue
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, f.data, "", "  "); err != nil {
			return out, err
		}
		buf.WriteByte('\n')
		p := filepath.Join(dir, f.name)
		if err := writeAtomic(p, buf.Bytes()); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// checked compacts a member (an envelope may have been re-indented) and checks its digest.
func checked(member json.RawMessage, want, name string) ([]byte, error) {
	c, err := compact(member)
	if err != nil {
		return nil, fmt.Errorf("trust envelope: %s: %w", name, err)
	}
	if want == "" || digest(c) != want {
		return nil, fmt.Errorf("%w (%s)", ErrDigestMismatch, name)
	}
	return c, nil
}
