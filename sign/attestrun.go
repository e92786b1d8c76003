package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/oci"
)

// Statement is one in-toto statement to make and sign over subjects, as cachet attest
// makes it.
type Statement struct {
	Subjects      []attest.Subject
	PredicateType string
	// Predicate is the predicate JSON; nil: SLSA provenance v1 generated from Claims
	// (the job's verified token) and ServerURL (ProvenanceRun).
	Predicate []byte
	Claims    *keyless.Claims
	ServerURL string
	// Bundle is where the bundle is written.
	Bundle string
	// Registry and Image, when both are set, attach the bundle to Image as an OCI 1.1
	// referrer first; the bundle is written only once the registry has it.
	Registry *oci.Client
	Image    *oci.Image
}

// Attested is a statement signed, logged, timestamped, verified and written.
type Attested struct {
	Name     string // the subject's name, or "N subjects"
	Bundle   []byte // the bundle JSON
	LogIndex int64
	// Digest is the attestation's digest: sha256:HEX of the bundle, or the referrer
	// manifest's digest when it was attached to an image (Referrer).
	Digest   string
	Referrer bool
}

// AttestStatement builds s's statement and runs the pipeline over it (Attest): a
// refusal stays ErrRefused. When attaching to the registry fails, nothing is attached
// and no bundle written; the log entry stays, and the error says so.
func (p *Pipeline) AttestStatement(ctx context.Context, s Statement) (*Attested, error) {
	if len(s.Subjects) == 0 {
		return nil, fmt.Errorf("attest: no subject")
	}
	predicate := s.Predicate
	if predicate == nil {
		var err error
		if predicate, err = attest.SLSAProvenance(ProvenanceRun(s.Claims, s.ServerURL)); err != nil {
			return nil, err
		}
	}
	stmt, err := attest.Statement(s.Subjects, s.PredicateType, predicate)
	if err != nil {
		return nil, err
	}
	digests := make([][]byte, len(s.Subjects))
	for i, sub := range s.Subjects {
		digests[i] = sub.Digest
	}
	name := s.Subjects[0].Name
	if len(s.Subjects) > 1 {
		name = fmt.Sprintf("%d subjects", len(s.Subjects))
	}
	push := s.Registry != nil && s.Image != nil
	att := Attestation{Name: name, Statement: stmt, Subjects: digests, Bundle: s.Bundle}
	if push {
		att.Bundle = "" // pushed first; written only once the registry has it
	}
	r := p.Attest(ctx, att)
	if r.Err != nil {
		return nil, fmt.Errorf("attest %s: %w", name, r.Err)
	}
	sum := sha256.Sum256(r.BundleJSON)
	out := &Attested{Name: name, Bundle: r.BundleJSON, LogIndex: r.LogIndex, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	if !push {
		return out, nil
	}
	h, err := s.Registry.Attach(ctx, s.Image, r.BundleJSON, s.PredicateType)
	if err != nil {
		return nil, fmt.Errorf("%w (nothing attached, no bundle written; the log entry %d stays)", err, r.LogIndex)
	}
	out.Digest, out.Referrer = h.String(), true
	if err := bundle.WriteBytes(s.Bundle, r.BundleJSON); err != nil {
		return nil, err
	}
	return out, nil
}
