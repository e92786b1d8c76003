package sign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/oci"
)

// AttestPlan is what one attestation is about: every subject goes in one statement.
type AttestPlan struct {
	Paths     []string   // files on disk, hashed here (named by their base name)
	Checksums []Checksum // from a sha256sum file, by name and digest
	Digests   [][]byte   // subjects not on disk, all named Name
	Name      string
	// The predicate: its type, a name or URI attest.PredicateType knows (or any URI,
	// with AllowUnknownPredicate), and its file, required unless the type is SLSA
	// provenance, which the caller generates from the job's verified claims.
	PredicateType         string
	AllowUnknownPredicate bool
	PredicatePath         string
	// Bundle is the bundle path; when empty, AttestBundlePath's default, in Dir (""
	// for the working directory) for a subject not on disk.
	Bundle, Dir string
}

// MaxPredicateSize bounds a predicate file: SBOMs of large images run to tens of MiB.
const MaxPredicateSize = 64 << 20

// Refusals of an attestation plan the caller's own words say best (flag names).
var (
	// ErrPredicateRequired: a predicate type other than SLSA provenance, and no file.
	ErrPredicateRequired = errors.New("a predicate file is required: only SLSA provenance is generated")
	// ErrDigestNeedsName: subjects by digest alone, and no name for them.
	ErrDigestNeedsName = errors.New("subjects by digest need a name")
	// ErrNothingToAttest: no subject at all.
	ErrNothingToAttest = errors.New("nothing to attest")
)

// Predicate is the statement's predicate type and the predicate file's contents (nil
// without a file: SLSA provenance, generated later). It refuses a type attest does not
// accept (PlanError about "predicate type"), a file it cannot read (about "predicate
// file") and a missing file (ErrPredicateRequired, with the type returned).
func (pl AttestPlan) Predicate() (typ string, predicate []byte, err error) {
	typ, err = attest.PredicateType(pl.PredicateType, pl.AllowUnknownPredicate)
	switch {
	case err != nil:
		return "", nil, planErr("predicate type", ": %v", err)
	case pl.PredicatePath == "" && typ != attest.SLSAProvenanceV1:
		return typ, nil, fmt.Errorf("predicate type %s: %w", typ, ErrPredicateRequired)
	case pl.PredicatePath == "":
		return typ, nil, nil
	}
	if predicate, err = regfile.ReadFile(pl.PredicatePath, MaxPredicateSize); err != nil {
		return "", nil, planErr("predicate file", ": %v", err)
	}
	return typ, predicate, nil
}

// Subjects hashes the files and returns the statement's subjects, refusing digests
// without a name (ErrDigestNeedsName), a path that is not a regular file and a name
// with a control character (PlanError: What is "subject", "checksums entry" or
// "subject name").
func (pl AttestPlan) Subjects(ctx context.Context) ([]attest.Subject, error) {
	if len(pl.Digests) > 0 && pl.Name == "" {
		return nil, ErrDigestNeedsName
	}
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

// Check refuses, before a certificate is asked, an attestation without subjects
// (ErrNothingToAttest) or whose statement would not build from the predicate file
// (PlanError about "predicate file"), and returns where its bundle goes
// (AttestBundlePath).
func (pl AttestPlan) Check(subjects []attest.Subject, typ string, predicate []byte) (bundle string, err error) {
	if len(subjects) == 0 {
		return "", ErrNothingToAttest
	}
	if bundle, err = AttestBundlePath(pl.Bundle, pl.Paths, subjects[0].Digest, pl.Dir); err != nil {
		return "", err
	}
	if predicate != nil {
		if _, err := attest.Statement(subjects, typ, predicate); err != nil {
			return "", planErr("predicate file", " %s: %v", pl.PredicatePath, err)
		}
	}
	return bundle, nil
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
