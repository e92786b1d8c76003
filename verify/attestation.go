package verify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cachet-sign/cachet/attest"
	intoto "github.com/in-toto/attestation/go/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/types/known/structpb"
)

// Reasons of attestation checks.
const (
	ReasonSubject       Reason = "subject-mismatch"        // the artifact's digest is not a subject of the statement
	ReasonPredicateType Reason = "predicate-type-mismatch" // the statement's predicate type is not the one asked for
	ReasonProvenance    Reason = "provenance-mismatch"     // SLSA provenance names another builder or source
)

// SLSAProvenanceV1 is the SLSA build provenance v1 predicate type.
const SLSAProvenanceV1 = attest.SLSAProvenanceV1

// AnyPredicateType, as a policy's predicate type, accepts a plain signature or an
// attestation of any predicate type whose statement names the artifact as a subject:
// what cosign verify-blob and the sigstore-conformance protocol accept. Nothing in the
// predicate is checked (not even SLSA provenance's builder), so it says only "this
// identity signed a statement about this artifact".
const AnyPredicateType = "any"

// PredicateTypeURI resolves a cosign short name (slsaprovenance1, spdx, cyclonedx, ...;
// attest.PredicateTypes) or returns a URI unchanged.
func PredicateTypeURI(nameOrURI string) (string, error) {
	u, err := attest.PredicateTypeURI(nameOrURI)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return u, nil
}

// isDSSE reports whether b is an attestation bundle.
func isDSSE(b *sgbundle.Bundle) bool { return b != nil && b.GetDsseEnvelope() != nil }

// checkAttestation applies the attestation part of the policy to a verified result.
// An attestation bundle must be asked for by predicate type, or by AnyPredicateType: a
// bundle holding any statement (a vulnerability report, say) must not pass as "this
// artifact is signed" unless the policy says so. sigstore-go has already checked that
// the artifact's digest is one of the statement's subjects (verify.WithArtifactDigest).
func (v *Verifier) checkAttestation(b *sgbundle.Bundle, res *sgverify.VerificationResult, r *Result) error {
	p := v.policy
	if !isDSSE(b) {
		if p.PredicateType != "" && p.PredicateType != AnyPredicateType {
			return fail(ReasonPredicateType, "the bundle is a plain signature, not an attestation; the policy requires predicate type %s", p.PredicateType)
		}
		return nil
	}
	st := res.Statement
	if st == nil {
		return fail(ReasonBundle, "the attestation bundle's envelope holds no in-toto statement")
	}
	r.PredicateType = st.GetPredicateType()
	switch p.PredicateType {
	case "":
		return fail(ReasonPredicateType, "the bundle is an attestation with predicate type %s: pass --type (slsaprovenance1, spdx, cyclonedx, a URI, or any) to accept it", st.GetPredicateType())
	case AnyPredicateType:
		return nil
	}
	want, err := PredicateTypeURI(p.PredicateType)
	if err != nil {
		return &Error{ReasonPolicy, err}
	}
	if st.GetPredicateType() != want {
		return fail(ReasonPredicateType, "predicate type is %s, policy requires %s", st.GetPredicateType(), want)
	}
	if want == SLSAProvenanceV1 {
		return v.checkProvenance(st, res)
	}
	return nil
}

// checkProvenance checks SLSA provenance's builder and source. Without a policy for
// them, they must agree with the certificate that signed it: a job may only claim
// itself as builder and its own repository as source.
func (v *Verifier) checkProvenance(st *intoto.Statement, res *sgverify.VerificationResult) error {
	p := v.policy
	prov, err := readProvenance(st.GetPredicate())
	if err != nil {
		return &Error{ReasonProvenance, err}
	}
	var certSigner, certRepo string
	if res.Signature != nil && res.Signature.Certificate != nil {
		certSigner = res.Signature.Certificate.Extensions.BuildSignerURI
		certRepo = res.Signature.Certificate.Extensions.SourceRepositoryURI
	}
	server := p.serverURL()
	qualify := func(s string) string {
		if s != "" && !strings.Contains(s, "://") {
			return server + "/" + s
		}
		return s
	}
	switch {
	case p.BuilderID != "":
		if prov.builderID != p.BuilderID {
			return fail(ReasonProvenance, "builder id is %q, policy requires %q", prov.builderID, p.BuilderID)
		}
	case p.Workflow != "":
		want := qualify(p.Workflow)
		path, _, _ := strings.Cut(prov.builderID, "@")
		if prov.builderID != want && path != want {
			return fail(ReasonProvenance, "builder id is %q, policy requires workflow %q", prov.builderID, want)
		}
	case certSigner != "":
		if prov.builderID != certSigner {
			return fail(ReasonProvenance, "builder id %q is not the workflow that signed (%q); pass --builder-id to accept another builder", prov.builderID, certSigner)
		}
	default:
		return fail(ReasonProvenance, "key-signed provenance: pass --builder-id")
	}
	wantRepo := qualify(p.Repository)
	if wantRepo == "" {
		wantRepo = certRepo
	}
	if wantRepo == "" {
		return nil
	}
	if !strings.EqualFold(prov.repository, wantRepo) {
		return fail(ReasonProvenance, "source repository is %q, policy requires %q", prov.repository, wantRepo)
	}
	if !slices.ContainsFunc(prov.dependencies, func(u string) bool {
		u = strings.TrimPrefix(u, "git+")
		u, _, _ = strings.Cut(u, "@")
		return strings.EqualFold(strings.TrimSuffix(u, ".git"), wantRepo)
	}) {
		return fail(ReasonProvenance, "no resolved dependency is the source repository %q", wantRepo)
	}
	return nil
}

type provenance struct {
	builderID    string
	repository   string
	dependencies []string
}

// readProvenance reads the fields a policy checks from a SLSA provenance v1 predicate.
func readProvenance(pred *structpb.Struct) (*provenance, error) {
	if pred == nil {
		return nil, errors.New("no predicate")
	}
	f := pred.GetFields()
	out := &provenance{}
	rd := f["runDetails"].GetStructValue()
	out.builderID = rd.GetFields()["builder"].GetStructValue().GetFields()["id"].GetStringValue()
	if out.builderID == "" {
		return nil, errors.New("SLSA provenance without runDetails.builder.id")
	}
	bd := f["buildDefinition"].GetStructValue().GetFields()
	if wf := bd["externalParameters"].GetStructValue().GetFields()["workflow"].GetStructValue(); wf != nil {
		out.repository = wf.GetFields()["repository"].GetStringValue()
	}
	for _, d := range bd["resolvedDependencies"].GetListValue().GetValues() {
		out.dependencies = append(out.dependencies, d.GetStructValue().GetFields()["uri"].GetStringValue())
	}
	return out, nil
}

// VerifyBundle checks a bundle already in memory (one pulled from a registry) against
// an artifact's SHA-256 digest, with the same policy as Verify.
func (v *Verifier) VerifyBundle(name string, digest []byte, b *sgbundle.Bundle) Result {
	r := Result{Name: name, Digest: "sha256:" + hex.EncodeToString(digest)}
	if err := v.verifyLoaded(digest, b, &r); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{ReasonInternalFailed, err}
		}
		r.Reason, r.Error = e.Reason, e.Error()
		return r
	}
	r.Verified = true
	return r
}
