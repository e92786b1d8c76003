// Package tuftest builds a small TUF repository (root, targets, snapshot, timestamp,
// consistent snapshots) with go-tuf for tests, and serves it from a directory. It can
// publish new target versions, let metadata expire and sign with a key the root does not
// trust or roll the timestamp back, which is what a client must refuse.
package tuftest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Repo is a TUF repository written to Dir, the document root to serve.
type Repo struct {
	Dir       string
	Root      *metadata.Metadata[metadata.RootType]
	Targets   *metadata.Metadata[metadata.TargetsType]
	Snapshot  *metadata.Metadata[metadata.SnapshotType]
	Timestamp *metadata.Metadata[metadata.TimestampType]
	keys      map[string]ed25519.PrivateKey
	published [][]byte // timestamp.json as each publish wrote it
}

var roles = []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// New makes a repository in dir with one ed25519 key per role and publishes version 1
// of every role (no targets). Metadata expires a year from now.
func New(dir string) (*Repo, error) {
	exp := time.Now().UTC().AddDate(1, 0, 0)
	r := &Repo{Dir: dir, keys: map[string]ed25519.PrivateKey{},
		Root: metadata.Root(exp), Targets: metadata.Targets(exp), Snapshot: metadata.Snapshot(exp), Timestamp: metadata.Timestamp(exp)}
	for _, role := range roles {
		_, k, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		r.keys[role] = k
		pk, err := metadata.KeyFromPublicKey(k.Public())
		if err != nil {
			return nil, err
		}
		if err := r.Root.Signed.AddKey(pk, role); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "targets"), 0o755); err != nil {
		return nil, err
	}
	if err := r.writeRoot(); err != nil {
		return nil, err
	}
	return r, r.publish(false)
}

// RootJSON is version 1 of the root, the client's trust anchor.
func (r *Repo) RootJSON() ([]byte, error) { return os.ReadFile(filepath.Join(r.Dir, "1.root.json")) }

// SetTarget stores a target under its consistent-snapshot name (targets/HEX.NAME).
func (r *Repo) SetTarget(name string, data []byte) error {
	sum := sha256.Sum256(data)
	if err := os.WriteFile(filepath.Join(r.Dir, "targets", hex.EncodeToString(sum[:])+"."+name), data, 0o644); err != nil {
		return err
	}
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	if err != nil {
		return err
	}
	r.Targets.Signed.Targets[name] = tf
	return nil
}

// Publish bumps targets, snapshot and timestamp, signs them with the root's keys and
// writes them.
func (r *Repo) Publish() error { return r.publish(true) }

// PublishExpired publishes like Publish with a timestamp that expired an hour ago.
func (r *Repo) PublishExpired() error {
	good := r.Timestamp.Signed.Expires
	r.Timestamp.Signed.Expires = time.Now().UTC().Add(-time.Hour)
	defer func() { r.Timestamp.Signed.Expires = good }()
	return r.publish(true)
}

// PublishBadlySigned publishes like Publish with the timestamp signed by a key the root
// does not know.
func (r *Repo) PublishBadlySigned() error {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		return err
	}
	good := r.keys[metadata.TIMESTAMP]
	r.keys[metadata.TIMESTAMP] = k
	defer func() { r.keys[metadata.TIMESTAMP] = good }()
	return r.publish(true)
}

func (r *Repo) publish(bump bool) error {
	if bump {
		r.Targets.Signed.Version++
		r.Snapshot.Signed.Version++
		r.Timestamp.Signed.Version++
	}
	r.Snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.Targets.Signed.Version)
	r.Timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.Snapshot.Signed.Version)
	if err := sign(r.Targets, r.keys[metadata.TARGETS]); err != nil {
		return err
	}
	if err := r.Targets.ToFile(filepath.Join(r.Dir, fmt.Sprintf("%d.targets.json", r.Targets.Signed.Version)), true); err != nil {
		return err
	}
	if err := sign(r.Snapshot, r.keys[metadata.SNAPSHOT]); err != nil {
		return err
	}
	if err := r.Snapshot.ToFile(filepath.Join(r.Dir, fmt.Sprintf("%d.snapshot.json", r.Snapshot.Signed.Version)), true); err != nil {
		return err
	}
	if err := sign(r.Timestamp, r.keys[metadata.TIMESTAMP]); err != nil {
		return err
	}
	p := filepath.Join(r.Dir, "timestamp.json")
	if err := r.Timestamp.ToFile(p, true); err != nil {
		return err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	r.published = append(r.published, b)
	return nil
}

// RollBack serves the timestamp published before the last one again: validly signed,
// unexpired, and older than what a client that saw the last one trusts.
func (r *Repo) RollBack() error {
	if len(r.published) < 2 {
		return fmt.Errorf("tuftest: nothing to roll back to: %d timestamps published", len(r.published))
	}
	return os.WriteFile(filepath.Join(r.Dir, "timestamp.json"), r.published[len(r.published)-2], 0o644)
}

func (r *Repo) writeRoot() error {
	if err := sign(r.Root, r.keys[metadata.ROOT]); err != nil {
		return err
	}
	return r.Root.ToFile(filepath.Join(r.Dir, fmt.Sprintf("%d.root.json", r.Root.Signed.Version)), true)
}

type signable interface {
	ClearSignatures()
	Sign(signature.Signer) (*metadata.Signature, error)
}

func sign(m signable, k ed25519.PrivateKey) error {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		return err
	}
	m.ClearSignatures()
	_, err = m.Sign(s)
	return err
}
