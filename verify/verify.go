// Package verify checks Sigstore bundles offline against a trusted root and a policy:
// sigstore-go does the cryptography (certificate chain, transparency-log inclusion and
// SET, RFC 3161 timestamps, signature over the artifact digest) and this package adds
// the policy on top (identity, issuer, GitHub facts from the Fulcio extensions, keys,
// timestamp thresholds) and verifies many artifacts in parallel with streaming hashes.
//
// It makes no network call and imports none of cachet's signing packages. Every failure
// carries a Reason, a stable word a report or a script can branch on.
package verify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/regfile"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Reason says why an artifact failed, in one stable word.
type Reason string

const (
	ReasonOK             Reason = ""
	ReasonArtifact       Reason = "artifact-unreadable"
	ReasonBundle         Reason = "bundle-invalid"
	ReasonDigest         Reason = "artifact-mismatch"
	ReasonSignature      Reason = "signature-invalid"
	ReasonCertificate    Reason = "certificate-invalid"
	ReasonIdentity       Reason = "identity-mismatch"
	ReasonIssuer         Reason = "issuer-mismatch"
	ReasonGitHub         Reason = "github-mismatch"
	ReasonSelfHosted     Reason = "self-hosted-runner"
	ReasonTlog           Reason = "tlog-invalid"
	ReasonTimestamp      Reason = "timestamp-invalid"
	ReasonSCT            Reason = "sct-invalid"
	ReasonKey            Reason = "key-mismatch"
	ReasonPolicy         Reason = "policy-invalid"
	ReasonInternalFailed Reason = "verification-failed"
)

// Error is a verification failure with its reason.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

// Subject is one artifact and its bundle.
type Subject struct {
	Name   string // for reports; Path or "sha256:<hex>"
	Path   string // artifact file; empty when Digest is set
	Digest []byte // SHA-256 of an artifact we do not have
	Bundle string // bundle file
}

// Result is the outcome for one subject.
type Result struct {
	Name       string    `json:"name"`
	Bundle     string    `json:"bundle"`
	Digest     string    `json:"digest,omitempty"`
	Verified   bool      `json:"verified"`
	Reason     Reason    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	Identity   string    `json:"identity,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	Repository string    `json:"repository,omitempty"`
	Ref        string    `json:"ref,omitempty"`
	SignedAt   time.Time `json:"signedAt,omitzero"`
	// PredicateType is the in-toto predicate type of an attestation bundle.
	PredicateType string `json:"predicateType,omitempty"`
	// SCTUnchecked: a certificate's SCT was not checked (the policy's insecure-ignore-sct).
	SCTUnchecked bool `json:"sctUnchecked,omitempty"`
}

// Verifier verifies bundles. Build it with New.
type Verifier struct {
	policy *Policy
	tm     root.TrustedMaterial
	sg     *SigstoreCheck
	pb     sgverify.PolicyOption
	// fast accepts the common bundle shape without sigstore-go's generic path
	// (fastpath.go); nil when the policy or the trusted material is not its case.
	fast *fastPath
	// Concurrency bounds parallel verifications; GOMAXPROCS when zero.
	Concurrency int
}

// MaxBundleSize bounds a bundle file; bundles are a few KiB.
const MaxBundleSize = bundle.MaxSize

// New prepares a verifier for trusted material tm and policy p.
func New(tm root.TrustedMaterial, p *Policy) (*Verifier, error) {
	return newVerifier(tm, p, nil)
}

// NewSharing is New with the trust cache of sc (the same trusted material): what sc
// has verified (certificate chains and SCTs, TSA chains, TSA tokens) is not verified
// again. A signing run checks its finished bundles with both: the fast path of this
// Verifier first, sc's own sigstore-go check when that does not accept.
func NewSharing(sc *SigstoreCheck, p *Policy) (*Verifier, error) {
	return newVerifier(nil, p, sc)
}

func newVerifier(tm root.TrustedMaterial, p *Policy, share *SigstoreCheck) (*Verifier, error) {
	if share != nil {
		tm = share.tm
	}
	if tm == nil {
		return nil, &Error{ReasonPolicy, errors.New("no trusted root")}
	}
	if err := p.Validate(); err != nil {
		return nil, &Error{ReasonPolicy, err}
	}
	if p.KeyPEM != "" && p.Key == nil {
		k, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(p.KeyPEM))
		if err != nil {
			return nil, fail(ReasonPolicy, "key: %v", err)
		}
		p.Key = k
	}
	var opts []sgverify.VerifierOption
	if !p.SkipTlog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if p.MinTimestamps > 0 {
		opts = append(opts, sgverify.WithSignedTimestamps(p.MinTimestamps))
	}
	// A signing time is needed to check the short-lived certificate: from the log's
	// integrated time or a TSA, whichever the bundle has.
	opts = append(opts, sgverify.WithObserverTimestamps(1))
	// Every Fulcio certificate needs an SCT from a CT log the trusted root lists, even
	// when the root lists none (then nothing verifies: ExplainSCT says why).
	requireSCT := p.Key == nil && !p.InsecureIgnoreSCT
	var pb sgverify.PolicyOption
	var identity *sgverify.CertificateIdentity
	if p.Key != nil {
		v, err := keyVerifier(p.Key)
		if err != nil {
			return nil, fail(ReasonPolicy, "key: %v", err)
		}
		keyMat := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
		})
		tm = root.TrustedMaterialCollection{tm, keyMat}
		pb = sgverify.WithKey()
	} else {
		id, err := sgverify.NewShortCertificateIdentity(p.Issuer, p.IssuerRegexp, p.Identity, p.IdentityRegexp)
		if err != nil {
			return nil, fail(ReasonPolicy, "%v", err)
		}
		pb = sgverify.WithCertificateIdentity(id)
		identity = &id
	}
	sg, err := newSigstoreCheck(tm, requireSCT, opts...)
	if err != nil {
		return nil, fail(ReasonPolicy, "%v", err)
	}
	if share != nil && p.Key == nil {
		sg.cache = share.cache // the same root: nil when it is not a parsed one
	} else {
		sg.cache = newTrustCache(tm)
	}
	v := &Verifier{policy: p, tm: tm, sg: sg, pb: pb}
	v.fast = newFastPath(v, identity)
	return v, nil
}

// SigstoreCheck is sigstore-go's Verifier with the trust cache of cache.go when the
// trusted material is a parsed root: the chain and SCT of a certificate, and the chain
// of a TSA certificate, already verified are not verified again; everything that
// depends on the bundle is. It accepts and refuses what sigstore-go's Verifier built
// with the same options (and WithSignedCertificateTimestamps(1) when requireSCT)
// accepts and refuses. One SigstoreCheck serves many bundles, concurrently.
type SigstoreCheck struct {
	sg *sgverify.Verifier
	tm root.TrustedMaterial
	// cache, when the trusted material is a parsed root, serves the chain and SCT
	// checks of a certificate already verified (cache.go); cachedOpts is sigstore-go's
	// configuration for it, without the SCT check the cache's CA makes itself.
	cache      *trustCache
	cachedOpts []sgverify.VerifierOption
	requireSCT bool
}

// NewSigstoreCheck prepares a SigstoreCheck for tm with sigstore-go's options opts
// (without WithSignedCertificateTimestamps: requireSCT asks for one SCT).
func NewSigstoreCheck(tm root.TrustedMaterial, requireSCT bool, opts ...sgverify.VerifierOption) (*SigstoreCheck, error) {
	c, err := newSigstoreCheck(tm, requireSCT, opts...)
	if err != nil {
		return nil, err
	}
	c.cache = newTrustCache(tm)
	return c, nil
}

// newSigstoreCheck is NewSigstoreCheck without the trust cache, which the caller sets.
func newSigstoreCheck(tm root.TrustedMaterial, requireSCT bool, opts ...sgverify.VerifierOption) (*SigstoreCheck, error) {
	cachedOpts := append([]sgverify.VerifierOption{}, opts...)
	if requireSCT {
		opts = append(append([]sgverify.VerifierOption{}, opts...), sgverify.WithSignedCertificateTimestamps(1))
	}
	sg, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, err
	}
	return &SigstoreCheck{sg: sg, tm: tm, cachedOpts: cachedOpts, requireSCT: requireSCT}, nil
}

// TimestampingAuthorities are the trusted root's TSAs as this check verifies tokens
// against them: a TSA chain verified once is served from the cache (cachetsa.go). A
// signing run that checks each TSA answer with these shares the cache with its
// self-check. Nil when the trusted material is not a parsed root.
func (c *SigstoreCheck) TimestampingAuthorities() []root.TimestampingAuthority {
	if c.cache == nil {
		return nil
	}
	return c.cache.tsas
}

// Verify is sigstore-go's Verify of p, through the trust cache when p is a keyless
// bundle whose leaf alone is checked against the root's CAs (no intermediates of its
// own, which sigstore-go adds to a FulcioCertificateAuthority only).
func (c *SigstoreCheck) Verify(p *bundle.Parsed, pb sgverify.PolicyBuilder) (*sgverify.VerificationResult, error) {
	if c.cache == nil && !p.HaveEntries {
		return c.sg.Verify(p.Bundle, pb)
	}
	vc, err := p.VerificationContent()
	if err != nil {
		return c.sg.Verify(p.Bundle, pb)
	}
	entity := &parsedEntity{Bundle: p.Bundle, p: p, vc: vc}
	if c.cache == nil || vc.Certificate() == nil || len(vc.Intermediates()) > 0 {
		return c.sg.Verify(entity, pb)
	}
	st := &bundleState{requireSCT: c.requireSCT}
	sg, err := sgverify.NewVerifier(&bundleTrust{TrustedRoot: c.cache.tm, c: c.cache, st: st}, c.cachedOpts...)
	if err != nil {
		return nil, err
	}
	res, err := sg.Verify(entity, pb)
	// sigstore-go checks the SCT right after the chain at every observed time and
	// before the signature and the identity: a chain failure is reported as such, an
	// SCT failure before whatever came after it.
	if st.requireSCT && !st.chainFailed {
		switch {
		case st.sctErr != nil:
			return nil, fmt.Errorf("failed to verify signed certificate timestamp: %w", st.sctErr)
		case st.chainCalls == 0 && err == nil:
			return nil, errors.New("failed to verify signed certificate timestamp: no chains provided")
		}
	}
	return res, err
}

// LoadBundle reads and validates a bundle file (bundle.Read: a regular file, at most
// MaxBundleSize bytes; errors never quote its content).
func LoadBundle(path string) (*sgbundle.Bundle, error) {
	b, err := bundle.Read(path)
	if err != nil {
		return nil, &Error{ReasonBundle, err}
	}
	return b, nil
}

// ParseBundle decodes and validates bundle JSON; its errors never quote the input.
func ParseBundle(data []byte) (*sgbundle.Bundle, error) {
	b, err := bundle.Parse(data)
	if err != nil {
		return nil, &Error{ReasonBundle, err}
	}
	return b, nil
}

// Verify checks one subject.
func (v *Verifier) Verify(ctx context.Context, s Subject) Result {
	r := Result{Name: s.Name, Bundle: s.Bundle}
	if r.Name == "" {
		r.Name = s.Path
	}
	err := v.verify(ctx, s, &r)
	if err != nil {
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

func (v *Verifier) verify(ctx context.Context, s Subject, r *Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	digest := s.Digest
	if digest == nil {
		var err error
		if digest, err = regfile.SHA256(ctx, s.Path); err != nil {
			return fail(ReasonArtifact, "%v", err)
		}
	}
	r.Digest = "sha256:" + hex.EncodeToString(digest)
	data, err := regfile.ReadFile(s.Bundle, bundle.MaxSize)
	if err != nil {
		return &Error{ReasonBundle, err}
	}
	if v.fastAccept(digest, data, r) {
		return nil
	}
	p, err := bundle.ParseWithEntries(data)
	if err != nil {
		return &Error{ReasonBundle, fmt.Errorf("%s: %w", s.Bundle, err)}
	}
	return v.verifyParsed(digest, p, r)
}

// verifyLoaded checks a parsed bundle against an artifact digest.
func (v *Verifier) verifyLoaded(digest []byte, b *sgbundle.Bundle, r *Result) error {
	return v.verifyParsed(digest, &bundle.Parsed{Bundle: b}, r)
}

// verifyParsed checks a parsed bundle against an artifact digest, with its log entries
// when they were parsed with it.
func (v *Verifier) verifyParsed(digest []byte, p *bundle.Parsed, r *Result) error {
	b := p.Bundle
	res, err := v.sg.Verify(p, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", digest), v.pb))
	if err != nil {
		if isDSSE(b) && strings.Contains(err.Error(), "in statement") {
			return &Error{ReasonSubject, fmt.Errorf("%s is not a subject of the attested statement: %w", r.Digest, err)}
		}
		if why, ok := SCTFailure(v.tm, b, err); ok {
			return &Error{ReasonSCT, fmt.Errorf("%s (%s): %w", why, IgnoreSCTHint, err)}
		}
		return v.explainTlog(b, classify(err))
	}
	if err := v.checkAttestation(b, res, r); err != nil {
		return err
	}
	for _, ts := range res.VerifiedTimestamps {
		if r.SignedAt.IsZero() || ts.Timestamp.Before(r.SignedAt) {
			r.SignedAt = ts.Timestamp.UTC()
		}
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		return v.acceptCertificate(res.Signature.Certificate, r)
	}
	return nil
}

// acceptCertificate records the verified certificate's identity in r and applies the
// GitHub facts of the policy to its extensions (both paths: verifyParsed, fastAccept).
func (v *Verifier) acceptCertificate(c *certificate.Summary, r *Result) error {
	r.SCTUnchecked = v.policy.InsecureIgnoreSCT
	r.Identity, r.Issuer = c.SubjectAlternativeName, c.Extensions.Issuer
	r.Repository, r.Ref = c.Extensions.SourceRepositoryURI, c.Extensions.SourceRepositoryRef
	return v.checkGitHub(c.Extensions.SourceRepositoryURI, c.Extensions.SourceRepositoryIdentifier,
		c.Extensions.SourceRepositoryRef, c.Extensions.BuildSignerURI, c.Extensions.BuildTrigger,
		c.Extensions.SourceRepositoryDigest, c.Extensions.RunnerEnvironment)
}

// checkGitHub applies the GitHub facts of the policy to the certificate's extensions.
func (v *Verifier) checkGitHub(repoURI, repoID, ref, buildSigner, trigger, sourceDigest, runnerEnv string) error {
	p := v.policy
	if p.Key != nil {
		return nil
	}
	server := p.serverURL()
	if p.Repository != "" {
		want := p.Repository
		if !strings.Contains(want, "://") {
			want = server + "/" + want
		}
		if !strings.EqualFold(repoURI, want) {
			return fail(ReasonGitHub, "repository is %q, policy requires %q", repoURI, want)
		}
	}
	if p.RepositoryID != "" && repoID != p.RepositoryID {
		return fail(ReasonGitHub, "repository id is %q, policy requires %q (a renamed or re-created repository?)", repoID, p.RepositoryID)
	}
	if p.Ref != "" && ref != p.Ref {
		return fail(ReasonGitHub, "ref is %q, policy requires %q", ref, p.Ref)
	}
	if p.Workflow != "" {
		want := p.Workflow
		if !strings.Contains(want, "://") {
			want = server + "/" + want
		}
		path, _, _ := strings.Cut(buildSigner, "@")
		if buildSigner != want && path != want {
			return fail(ReasonGitHub, "workflow (build signer) is %q, policy requires %q", buildSigner, want)
		}
	}
	if p.Event != "" && trigger != p.Event {
		return fail(ReasonGitHub, "trigger event is %q, policy requires %q", trigger, p.Event)
	}
	if p.SourceDigest != "" && !strings.EqualFold(sourceDigest, p.SourceDigest) {
		return fail(ReasonGitHub, "source digest is %q, policy requires %q", sourceDigest, p.SourceDigest)
	}
	if runnerEnv == "" && p.AllowUnrecordedRunner {
		return nil
	}
	if !p.AllowSelfHosted && runnerEnv != "github-hosted" {
		return fail(ReasonSelfHosted, "runner environment is %q; the policy requires github-hosted (allow-self-hosted to accept)", runnerEnv)
	}
	return nil
}

// explainTlog says why a log entry did not verify when the reason is that the trusted
// root does not list the entry's log: sigstore-go skips such entries and reports only
// "not enough verified log entries" (pkg/verify/tlog.go), which hides that the bundle
// comes from another Sigstore instance, or from a log newer than the root.
func (v *Verifier) explainTlog(b *sgbundle.Bundle, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonTlog {
		return err
	}
	entries, terr := b.TlogEntries()
	if terr != nil || len(entries) == 0 {
		return err
	}
	logs := v.tm.RekorLogs()
	var unknown []string
	for _, en := range entries {
		id := hex.EncodeToString([]byte(en.LogKeyID()))
		if _, ok := logs[id]; ok {
			return err
		}
		unknown = append(unknown, id)
	}
	return fail(ReasonTlog, "the bundle's transparency-log entry is from log %s, which the trusted root does not list "+
		"(a bundle from another Sigstore instance, or a trusted root older than the log): %v", strings.Join(unknown, ", "), e.Err)
}

// parsedEntity is a bundle as sigstore-go verifies it, with what was parsed already
// served again instead of parsed again: the log entries parsed by the bundle's
// validation, and the verification content (the leaf certificate) sigstore-go asks for
// several times. Both are this bundle's own, never another's.
type parsedEntity struct {
	*sgbundle.Bundle
	p  *bundle.Parsed
	vc sgverify.VerificationContent
}

func (e *parsedEntity) TlogEntries() ([]*tlog.Entry, error) {
	if e.p.HaveEntries {
		return e.p.Entries, nil
	}
	return e.Bundle.TlogEntries()
}

func (e *parsedEntity) VerificationContent() (sgverify.VerificationContent, error) {
	return e.vc, nil
}

// classify maps sigstore-go's errors to reasons. sigstore-go's Verifier prefixes its
// error with the stage that failed (pkg/verify/signed_entity.go, v1.3.0: log
// inclusion, timestamps, leaf certificate, SCT, signature, certificate identity), so
// the stage decides the reason; only within a stage does what failed refine it (a
// digest that does not match the artifact, an issuer rather than a SAN). The identity
// errors are matched by type. Errors that name no stage (sigstore-go's bundle and
// verifier set-up errors) fall back to what they mention.
func classify(err error) error {
	msg := err.Error()
	for _, s := range sgStages {
		if strings.HasPrefix(msg, s.prefix) {
			return &Error{s.reason(err, strings.TrimPrefix(msg, s.prefix)), err}
		}
	}
	return &Error{byMention(msg), err}
}

// sgStages are the stage prefixes of sigstore-go's Verifier.Verify errors, in its order.
var sgStages = []struct {
	prefix string
	reason func(err error, rest string) Reason
}{
	{"failed to verify log inclusion", always(ReasonTlog)},
	{"failed to verify timestamps", always(ReasonTimestamp)},
	{"failed to verify leaf certificate", always(ReasonCertificate)},
	{"failed to verify signed certificate timestamp", always(ReasonSCT)},
	{"signature time outside of public key validity window", always(ReasonKey)},
	{"SCTs required but bundle is signed with a public key", always(ReasonKey)},
	{"expected key signature, not certificate", always(ReasonKey)},
	{"failed to get signature verifier", always(ReasonKey)},
	{"failed to verify signature", signatureReason},
	{"failed to verify certificate identity", identityReason},
	{"can't verify certificate identities", always(ReasonIdentity)},
}

func always(r Reason) func(error, string) Reason { return func(error, string) Reason { return r } }

// signatureReason: the signature stage also compares the artifact's digest with the
// one the bundle signs (signature.go: "artifact does not match digest", "artifact
// digest does not match message digest", "... do not match digests in statement").
func signatureReason(_ error, rest string) Reason {
	if strings.Contains(rest, "digest") && (strings.Contains(rest, "not match") || strings.Contains(rest, "mismatch")) {
		return ReasonDigest
	}
	return ReasonSignature
}

// identityReason tells the issuer from the SAN by sigstore-go's typed mismatch errors,
// whose object is "issuer" or "SAN" (certificate_identity.go).
func identityReason(err error, _ string) Reason {
	var vm *sgverify.ErrValueMismatch
	var rm *sgverify.ErrValueRegexMismatch
	switch {
	case errors.As(err, &vm) && strings.HasPrefix(vm.Error(), "expected issuer "),
		errors.As(err, &rm) && strings.HasPrefix(rm.Error(), "expected issuer "):
		return ReasonIssuer
	}
	return ReasonIdentity
}

// byMention classifies an error that names no stage by what it mentions.
func byMention(msg string) Reason {
	switch {
	case strings.Contains(msg, "transparency log") || strings.Contains(msg, "tlog") || strings.Contains(msg, "inclusion") ||
		strings.Contains(msg, "checkpoint"):
		return ReasonTlog
	case strings.Contains(msg, "timestamp"):
		return ReasonTimestamp
	case strings.Contains(msg, "certificate") || strings.Contains(msg, "x509") || strings.Contains(msg, "chain"):
		return ReasonCertificate
	case strings.Contains(msg, "signature"):
		return ReasonSignature
	}
	return ReasonInternalFailed
}

// VerifyAll verifies subjects in parallel, results in input order.
func (v *Verifier) VerifyAll(ctx context.Context, subjects []Subject) []Result {
	n := v.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(subjects))
	idx := make(chan int)
	var wg sync.WaitGroup
	for range min(n, len(subjects)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				results[i] = v.Verify(ctx, subjects[i])
			}
		}()
	}
	for i := range subjects {
		idx <- i
	}
	close(idx)
	wg.Wait()
	return results
}
