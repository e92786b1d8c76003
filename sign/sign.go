// Package sign is the one signing pipeline keyless and key mode share: hash the artifact
// (streaming), sign its digest, record the signature in the transparency log, timestamp
// it, assemble the bundle, verify the whole bundle offline against the trusted root and
// the expected identity, and only then write it atomically. The signer and the
// verification material (a Fulcio certificate, or a key hint) are the only differences
// between the modes. An AttestPlan names an attestation's subjects: files, checksums
// and digests, or one image in a registry (ImageSubject).
//
// It refuses to write a bundle it could not verify itself: a log answer or a timestamp
// that does not check out fails the artifact, and nothing is left behind.
package sign

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/tsa"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Pipeline signs artifacts with one signer and one piece of verification material.
type Pipeline struct {
	Signer      crypto.Signer
	Certificate []byte   // leaf DER (keyless)
	KeyHint     string   // key mode
	Rekor       tlog.Log // Rekor v1 or v2; nil in key mode without --tlog-upload
	TSA         *tsa.Client
	// Verify checks a finished bundle offline before it is written (trusted root,
	// identity, digest). Required: a pipeline without it refuses to run.
	Verify func(b *sgbundle.Bundle, digest []byte) error
	// verifyParsed, when set, is Verify for a bundle whose log entries were parsed as
	// it was made (NewKeyless sets both from one check).
	verifyParsed func(p *bundle.Parsed, digest []byte) error
	// accepts, when set, may accept the bundle's JSON (the bytes to be written) before
	// Verify runs; false means Verify decides (NewKeyless: cachet verify's fast path).
	accepts func(data, digest []byte) bool
	Audit   *audit.Logger
	// AuditFields fill the identity part of audit events.
	SAN, Issuer, CertSerial string
	// Authorize, when set, decides per digest before anything is signed (key mode: the
	// signing policy). An error is a refusal: audited as codesign.refused (or
	// codesign.keyless.refused), nothing signed, no bundle.
	Authorize func(digest []byte) error
	// Tenant and Principal fill key mode audit events; the key id is KeyHint.
	Tenant, Principal string

	pem struct { // publicPEM's
		once sync.Once
		b    []byte
		err  error
	}
}

// Subject is one artifact to sign.
type Subject struct {
	Path   string // file to hash; empty when Digest is given
	Name   string // for messages and audit; Path when empty
	Digest []byte // SHA-256, when the artifact is not here
	Bundle string // where to write the bundle
}

// Result is what happened to one subject.
type Result struct {
	Subject  Subject
	Digest   []byte
	LogIndex int64
	Err      error
}

// Sign runs the pipeline for one subject. On error no bundle is written.
func (p *Pipeline) Sign(ctx context.Context, s Subject) Result {
	res := Result{Subject: s, LogIndex: -1}
	if s.Name == "" {
		s.Name = s.Path
		res.Subject.Name = s.Path
	}
	var refused bool
	refused, res.Err = p.sign(ctx, s, &res)
	ev := audit.Event{Event: "codesign.keyless.signed", Artifact: s.Name, SAN: p.SAN, Issuer: p.Issuer, CertSerial: p.CertSerial,
		Tenant: p.Tenant, Principal: p.Principal, KeyID: p.KeyHint}
	if p.Certificate == nil {
		ev.Event = "codesign.signed"
	}
	if res.Digest != nil {
		ev.Digest = "sha256:" + hex.EncodeToString(res.Digest)
	}
	if res.Err != nil {
		outcome := "failed"
		if refused {
			outcome = "refused"
		}
		ev.Event = "codesign.keyless." + outcome
		if p.Certificate == nil {
			ev.Event = "codesign." + outcome
		}
		ev.Reason = res.Err.Error()
	} else {
		idx := res.LogIndex
		if idx >= 0 {
			ev.LogIndex = &idx
		}
		ev.Bundle = s.Bundle
	}
	if err := p.Audit.Log(ev); err != nil && res.Err == nil {
		// The bundle is written, but a decision that could not be audited is a failure.
		res.Err = fmt.Errorf("audit log: %w", err)
	}
	return res
}

// sign reports refused when Authorize said no.
func (p *Pipeline) sign(ctx context.Context, s Subject, res *Result) (refused bool, err error) {
	if err := p.signAuthorized(ctx, s, res); err != nil {
		var r *authRefusal
		if errors.As(err, &r) {
			return true, Refuse(r.err)
		}
		return false, err
	}
	return false, nil
}

// authRefusal marks an Authorize error on its way out of signAuthorized.
type authRefusal struct{ err error }

func (r *authRefusal) Error() string { return r.err.Error() }

func (p *Pipeline) signAuthorized(ctx context.Context, s Subject, res *Result) error {
	if p.Verify == nil {
		return errors.New("sign: pipeline has no verification step")
	}
	digest := s.Digest
	if digest == nil {
		var err error
		if digest, err = HashContext(ctx, s.Path); err != nil {
			return err
		}
	}
	if len(digest) != sha256.Size {
		return fmt.Errorf("digest of %s is %d bytes, want SHA-256", s.Name, len(digest))
	}
	res.Digest = digest
	if p.Authorize != nil {
		if err := p.Authorize(digest); err != nil {
			return &authRefusal{err}
		}
	}
	if err := p.checkTimestamped(); err != nil {
		return err
	}
	var sig []byte
	var entries []*rekorpb.TransparencyLogEntry
	err := resignOnDuplicate(func() error {
		var err error
		if sig, err = p.Signer.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if p.Rekor == nil {
			return nil
		}
		pemBytes, err := p.publicPEM()
		if err != nil {
			return err
		}
		tle, err := p.Rekor.Add(ctx, tlog.HashedRekord{Digest: digest, Signature: sig, PublicPEM: pemBytes})
		if err != nil {
			return err
		}
		entries = append(entries, tle)
		res.LogIndex = tle.GetLogIndex()
		return nil
	})
	if err != nil {
		return err
	}
	var stamps [][]byte
	if p.TSA != nil {
		toks, err := p.TSA.Timestamp(ctx, sig)
		if err != nil {
			return err
		}
		for _, t := range toks {
			stamps = append(stamps, t.Response)
		}
	}
	m := bundle.MessageSignature{Certificate: p.Certificate, KeyHint: p.KeyHint, Digest: digest,
		Signature: sig, TlogEntries: entries, Timestamps: stamps}
	// The bytes to be written: MessageJSON's, when the fast check accepts them as they
	// are; else protojson's, not written unless the full check (on the same bundle,
	// validated) accepts.
	if p.accepts != nil {
		if data, ok := bundle.MessageJSON(m); ok && p.accepts(data, digest) {
			return bundle.WriteBytes(s.Bundle, data)
		}
	}
	data, err := bundle.EncodeMessage(m)
	if err != nil {
		return err
	}
	if err := p.verifyFull(m, digest); err != nil {
		return fmt.Errorf("the finished bundle does not verify, not writing it: %w", err)
	}
	return bundle.WriteBytes(s.Bundle, data)
}

// verifyFull is Verify on the bundle made from m (New validates it), through
// verifyParsed when set.
func (p *Pipeline) verifyFull(m bundle.MessageSignature, digest []byte) error {
	if p.verifyParsed == nil {
		b, err := bundle.New(m)
		if err != nil {
			return err
		}
		return p.Verify(b, digest)
	}
	pb, err := bundle.NewParsed(m)
	if err != nil {
		return err
	}
	return p.verifyParsed(pb, digest)
}

// resignOnDuplicate runs signAndLog again, once, when a Rekor v2 log answers that it
// already holds the entry (a retried request whose first answer was lost, on a log with
// anti-spam): the v2 API cannot fetch that entry, and a new signature (ECDSA signatures
// are randomised; RSA PKCS#1 v1.5 ones are not, so they fail again) is a new entry.
func resignOnDuplicate(signAndLog func() error) error {
	err := signAndLog()
	if errors.Is(err, tlog.ErrDuplicateV2) {
		err = signAndLog()
	}
	return err
}

// checkTimestamped refuses a log without signed entry times (Rekor v2) when the run
// has no TSA: nothing would show the signature was made while the certificate was valid.
func (p *Pipeline) checkTimestamped() error {
	if p.Rekor != nil && !p.Rekor.IntegratedTime() && p.TSA == nil {
		return tlog.ErrNeedsTimestamp
	}
	return nil
}

// publicPEM is the certificate (keyless) or public key (key mode) in PEM, as every log
// entry of the run names it: encoded once, on first use (Certificate and Signer do not
// change while the pipeline signs).
func (p *Pipeline) publicPEM() ([]byte, error) {
	p.pem.once.Do(func() {
		if p.Certificate != nil {
			p.pem.b = cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, p.Certificate)
			return
		}
		p.pem.b, p.pem.err = cryptoutils.MarshalPublicKeyToPEM(p.Signer.Public())
	})
	return p.pem.b, p.pem.err
}
