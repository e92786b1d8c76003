package sign

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/oci"
)

// AttestPlan is what one attestation is about: every subject goes in one statement.
type AttestPlan struct {
	Paths     []string   // files on disk, hashed here (named by their base name)
	Checksums []Checksum // from a sha256sum file, by name and digest
	Digests   [][]byte   // subjects not on disk, all named Name
	Name      string
}

// Subjects hashes the files and returns the statement's subjects, refusing a path that
// is not a regular file and a name with a control character (PlanError: What is
// "subject", "checksums entry" or "subject name").
func (pl AttestPlan) Subjects(ctx context.Context) ([]attest.Subject, error) {
	var out []attest.Subject
	for _, p := range pl.Paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, planErr("subject", " %s: %v", p, errors.Unwrap(err))
		}
		if !st.Mode().IsRegular() {
			return nil, planErr("subject", " %s is not a regular file", p)
		}
		d, err := HashContext(ctx, p)
		if err != nil {
			return nil, planErr("subject", " %s: %v", p, err)
		}
		out = append(out, attest.Subject{Name: filepath.Base(p), Digest: d})
	}
	for _, c := range pl.Checksums {
		if err := checkName("checksums entry", c.Name); err != nil {
			return nil, err
		}
		out = append(out, attest.Subject{Name: c.Name, Digest: c.Digest})
	}
	if len(pl.Digests) > 0 {
		if err := checkName("subject name", pl.Name); err != nil {
			return nil, err
		}
	}
	for _, d := range pl.Digests {
		out = append(out, attest.Subject{Name: pl.Name, Digest: d})
	}
	return out, nil
}

// Refusals of ImageSubject.
var (
	// ErrOneImage: an attestation pushed to a registry is over one image, so no file
	// and at most one digest.
	ErrOneImage = errors.New("an attestation pushed to a registry is over one image: no files, at most one digest")
	// ErrNoImage: the image was not named.
	ErrNoImage = errors.New("an attestation pushed to a registry needs the image's name")
)

// ImageSubject is the one subject of an attestation pushed to a registry: the image
// pl.Name names (REGISTRY/REPO[:TAG|@sha256:HEX]), or with digest (sha256:HEX, pl's
// one digest as the caller was given it) that repository at that digest, resolved by
// reg (oci.Client.ResolveSubject: a tag once, here). It refuses paths or more than one
// digest (ErrOneImage) and no name (ErrNoImage) before asking the registry.
func (pl AttestPlan) ImageSubject(ctx context.Context, reg *oci.Client, digest string) (*oci.Image, []attest.Subject, error) {
	if len(pl.Paths) > 0 || len(pl.Digests) > 1 {
		return nil, nil, ErrOneImage
	}
	if pl.Name == "" {
		return nil, nil, ErrNoImage
	}
	img, name, d, err := reg.ResolveSubject(ctx, pl.Name, digest)
	if err != nil {
		return nil, nil, err
	}
	return img, []attest.Subject{{Name: name, Digest: d}}, nil
}

// AttestBundlePath is where an attestation's bundle goes: given, else beside the first
// file (FILE.intoto.sigstore.json), else in dir as sha256-HEX.intoto.sigstore.json of
// the first subject. Its directory must exist (a PlanError about "bundle path").
func AttestBundlePath(given string, paths []string, first []byte, dir string) (string, error) {
	b := given
	switch {
	case b != "":
	case len(paths) > 0:
		b = paths[0] + ".intoto" + BundleSuffix
	default:
		b = filepath.Join(dir, "sha256-"+hex.EncodeToString(first)+".intoto"+BundleSuffix)
	}
	if st, err := os.Stat(filepath.Dir(b)); err != nil || !st.IsDir() {
		return "", planErr("bundle path", " %s: directory %s does not exist", b, filepath.Dir(b))
	}
	return b, nil
}
