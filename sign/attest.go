package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/tlog"
	dsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// Attestation is one in-toto statement to sign as a DSSE envelope.
type Attestation struct {
	Name      string   // for messages and audit
	Statement []byte   // in-toto Statement v1 JSON (attest.Statement)
	Subjects  [][]byte // SHA-256 of every subject; the first is checked by the self-verification
	// Bundle is where to write the bundle. Empty: the bundle is only returned (BundleJSON),
	// for a caller that publishes it somewhere first (a registry) and writes it after.
	Bundle string
}

// AttestResult is what happened to one attestation.
type AttestResult struct {
	Attestation Attestation
	BundleJSON  []byte // the verified bundle
	LogIndex    int64
	Err         error
}

// Attest runs the pipeline for a statement: DSSE-sign (PAE), record a Rekor dsse entry,
// timestamp the signature, assemble the bundle, verify it as a consumer would (that the
// first subject's digest is in the statement, identity, log, timestamps), and write it.
// On error no bundle is written or returned.
func (p *Pipeline) Attest(ctx context.Context, a Attestation) AttestResult {
	res := AttestResult{Attestation: a, LogIndex: -1}
	refused, err := p.attest(ctx, a, &res)
	if refused {
		err = Refuse(err)
	}
	res.Err = err
	ev := audit.Event{Event: "codesign.keyless.attested", Artifact: a.Name, SAN: p.SAN, Issuer: p.Issuer, CertSerial: p.CertSerial,
		Tenant: p.Tenant, Principal: p.Principal, KeyID: p.KeyHint}
	prefix := "codesign.keyless."
	if p.Certificate == nil {
		prefix = "codesign."
		ev.Event = "codesign.attested"
	}
	st := sha256.Sum256(a.Statement)
	ev.Digest = "sha256:" + hex.EncodeToString(st[:])
	if err != nil {
		ev.Event = prefix + "failed"
		if refused {
			ev.Event = prefix + "refused"
		}
		ev.Reason = err.Error()
		res.BundleJSON = nil
	} else {
		idx := res.LogIndex
		if idx >= 0 {
			ev.LogIndex = &idx
		}
		ev.Bundle = a.Bundle
	}
	if aerr := p.Audit.Log(ev); aerr != nil && res.Err == nil {
		res.Err = fmt.Errorf("audit log: %w", aerr)
	}
	return res
}

func (p *Pipeline) attest(ctx context.Context, a Attestation, res *AttestResult) (refused bool, err error) {
	if p.Verify == nil {
		return false, errors.New("sign: pipeline has no verification step")
	}
	if len(a.Subjects) == 0 {
		return false, errors.New("sign: attestation has no subject")
	}
	for _, d := range a.Subjects {
		if len(d) != sha256.Size {
			return false, fmt.Errorf("subject digest of %s is %d bytes, want SHA-256", a.Name, len(d))
		}
		if p.Authorize != nil {
			if err := p.Authorize(d); err != nil {
				return true, err
			}
		}
	}
	if err := p.checkTimestamped(); err != nil {
		return false, err
	}
	var env *dsse.Envelope
	var entries []*rekorpb.TransparencyLogEntry
	err = resignOnDuplicate(func() error {
		var err error
		if env, err = attest.Sign(p.Signer, attest.PayloadType, a.Statement); err != nil || p.Rekor == nil {
			return err
		}
		pemBytes, err := p.publicPEM()
		if err != nil {
			return err
		}
		tle, err := p.Rekor.AddDSSE(ctx, tlog.DSSE{Envelope: env, PublicPEM: pemBytes})
		if err != nil {
			return err
		}
		entries = append(entries, tle)
		res.LogIndex = tle.GetLogIndex()
		return nil
	})
	if err != nil {
		return false, err
	}
	var stamps [][]byte
	if p.TSA != nil {
		// The timestamp covers the signature bytes, as for message signatures
		// (sigstore-go: SignatureContent of a DSSE envelope is its one signature).
		toks, err := p.TSA.Timestamp(ctx, env.Signatures[0].Sig)
		if err != nil {
			return false, err
		}
		for _, t := range toks {
			stamps = append(stamps, t.Response)
		}
	}
	b, err := bundle.NewDSSE(bundle.Envelope{Certificate: p.Certificate, KeyHint: p.KeyHint, Envelope: env,
		TlogEntries: entries, Timestamps: stamps})
	if err != nil {
		return false, err
	}
	if err := p.Verify(b, a.Subjects[0]); err != nil {
		return false, fmt.Errorf("the finished attestation bundle does not verify, not writing it: %w", err)
	}
	data, err := bundle.Encode(b)
	if err != nil {
		return false, err
	}
	if a.Bundle != "" {
		if err := bundle.WriteBytes(a.Bundle, data); err != nil {
			return false, err
		}
	}
	res.BundleJSON = data
	return false, nil
}
