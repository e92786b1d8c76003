package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/bundle"
	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/verify"
)

// maxPredicateSize bounds a predicate file: SBOMs of large images run to tens of MiB.
const maxPredicateSize = 64 << 20

type attestFlags struct {
	signFlags
	subjectPaths, subjectDigests  listFlag
	subjectName, subjectChecksums string
	showSummary                   bool
	predicateType, predicatePath  string
	allowUnknown, push            bool
	insecureRegistry              bool
	github                        ghAttestFlags
}

// cmdAttest signs an in-toto statement over one or many subjects as a DSSE envelope in
// a Sigstore bundle (keyless): SLSA provenance v1 from the job's verified claims, or a
// predicate file. With --push-to-registry the subject is an image, signed by digest,
// and the bundle is attached to it as an OCI 1.1 referrer.
func cmdAttest(ctx context.Context, args []string, e *env) error {
	a := e.action()
	var f attestFlags
	fs := flag.NewFlagSet("cachet attest", flag.ContinueOnError)
	f.registerIdentity(fs)
	fs.StringVar(&f.bundle, "bundle", "", "bundle path; default SUBJECT.intoto.sigstore.json (first subject-path) or sha256-HEX.intoto.sigstore.json")
	fs.Var(&f.subjectPaths, "subject-path", "file or glob to attest (repeatable; one per line as an input); all go in one statement")
	fs.Var(&f.subjectDigests, "subject-digest", "sha256:HEX of a subject not on disk (repeatable), named by --subject-name")
	fs.StringVar(&f.subjectChecksums, "subject-checksums", "", "a sha256sum file: every artifact it lists is a subject, by name and digest")
	fs.BoolVar(&f.showSummary, "show-summary", true, "write the job summary (in Actions)")
	fs.StringVar(&f.subjectName, "subject-name", "", "name of the --subject-digest subject; with --push-to-registry the image (REGISTRY/REPO[:TAG|@sha256:HEX])")
	fs.StringVar(&f.predicateType, "predicate-type", "slsaprovenance1", "predicate type: slsaprovenance1, spdx, cyclonedx, or a URI")
	fs.StringVar(&f.predicatePath, "predicate-path", "", "predicate file (JSON object); default for slsaprovenance1: generated from the job")
	fs.BoolVar(&f.allowUnknown, "allow-unknown-predicate", false, "accept a predicate type URI cachet does not know")
	fs.BoolVar(&f.push, "push-to-registry", false, "the subject is an image: sign it by digest and attach the bundle as an OCI referrer")
	fs.BoolVar(&f.insecureRegistry, "allow-insecure-registry", false, "talk plain http to the registry (loopback and private addresses always do)")
	f.github.register(fs)
	f.registerKeyMode(fs)
	f.registerSigningConfig(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if err := applySigningConfig(fs, &f.signFlags, time.Now(), e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// 1. Inputs, all checked before anything is signed.
	predType, err := attest.PredicateType(f.predicateType, f.allowUnknown)
	if err != nil {
		return usagef("--predicate-type: %v (--allow-unknown-predicate accepts other URIs)", err)
	}
	var predicate []byte
	if f.predicatePath != "" {
		if predicate, err = readPredicate(f.predicatePath); err != nil {
			return err
		}
	} else if predType != attest.SLSAProvenanceV1 {
		return usagef("--predicate-path is required for predicate type %s (only SLSA provenance is generated)", predType)
	}
	paths, err := expandArtifacts(append(append([]string{}, f.subjectPaths...), fs.Args()...), false, e.stderr)
	if err != nil {
		return err
	}
	var subjects []attest.Subject
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return usagef("subject %s: %v", p, errors.Unwrap(err))
		}
		if !st.Mode().IsRegular() {
			return usagef("subject %s is not a regular file", p)
		}
		d, err := sign.HashContext(ctx, p)
		if err != nil {
			return usagef("subject %s: %v", p, err)
		}
		subjects = append(subjects, attest.Subject{Name: filepath.Base(p), Digest: d})
	}
	if f.subjectChecksums != "" {
		sums, err := readChecksums(f.subjectChecksums)
		if err != nil {
			return err
		}
		for _, c := range sums {
			if err := checkName("--subject-checksums entry", c.Name); err != nil {
				return err
			}
			subjects = append(subjects, attest.Subject{Name: c.Name, Digest: c.Digest})
		}
	}
	for _, sd := range f.subjectDigests {
		d, err := parseSHA256(sd)
		if err != nil {
			return usagef("--subject-digest %q: %v", sd, err)
		}
		if err := checkName("--subject-name", f.subjectName); err != nil {
			return err
		}
		if f.subjectName == "" {
			return usagef("--subject-digest needs --subject-name")
		}
		subjects = append(subjects, attest.Subject{Name: f.subjectName, Digest: d})
	}
	var reg *oci.Client
	var img *oci.Image
	if f.push {
		if len(paths) > 0 || len(f.subjectDigests) > 1 {
			return usagef("--push-to-registry attests one image: give --subject-name REGISTRY/REPO[:TAG] (and --subject-digest sha256:HEX), no subject-path")
		}
		if f.subjectName == "" {
			return usagef("--push-to-registry needs --subject-name: the image (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX)")
		}
		reg = &oci.Client{Getenv: e.getenv, InsecureHTTP: f.insecureRegistry}
		ref := f.subjectName
		if len(f.subjectDigests) == 1 {
			repo, err := reg.Repository(f.subjectName)
			if err != nil {
				return usagef("--subject-name %q with --subject-digest must be a repository (REGISTRY/REPO): %v", f.subjectName, err)
			}
			ref = repo.String() + "@" + f.subjectDigests[0]
		}
		// The image is signed by digest: a tag is resolved once, here, and never again.
		if img, err = reg.Resolve(ctx, ref); err != nil {
			if errors.Is(err, oci.ErrNotFound) {
				return usagef("%v", err)
			}
			return err
		}
		if img.FromTag != "" {
			fmt.Fprintf(e.stderr, "resolved %s to %s\n", f.subjectName, img.Digest)
		}
		if err := reg.CheckPush(ctx, img); err != nil {
			return err
		}
		d, _ := hex.DecodeString(img.Descriptor.Digest.Hex)
		subjects = []attest.Subject{{Name: img.Digest.Context().Name(), Digest: d}}
	}
	if len(subjects) == 0 {
		return usagef("nothing to attest: give --subject-path, or --subject-name with --subject-digest")
	}
	bundlePath := f.bundle
	if bundlePath == "" {
		switch {
		case len(paths) > 0:
			bundlePath = paths[0] + ".intoto.sigstore.json"
		default:
			dir := "."
			if rt := e.getenv("RUNNER_TEMP"); rt != "" {
				dir = rt
			}
			bundlePath = filepath.Join(dir, "sha256-"+hex.EncodeToString(subjects[0].Digest)+".intoto.sigstore.json")
		}
	}
	if st, err := os.Stat(filepath.Dir(bundlePath)); err != nil || !st.IsDir() {
		return usagef("--bundle %s: directory %s does not exist", bundlePath, filepath.Dir(bundlePath))
	}
	ghAPI, err := f.github.target(e) // nil without --github-attestations
	if err != nil {
		return err
	}
	tr, err := signingTrustedRoot(e, &f.signFlags) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}
	if predicate != nil {
		// Refuse a bad predicate before asking for a certificate.
		if _, err := attest.Statement(subjects, predType, predicate); err != nil {
			return usagef("--predicate-path %s: %v", f.predicatePath, err)
		}
	}
	auditW, closeAudit, err := openAudit(f.auditLog, e.stderr)
	if err != nil {
		return err
	}
	defer closeAudit()
	al := &audit.Logger{W: auditW}

	// 2. Identity and signer: a Fulcio certificate (keyless), or a key gated by the
	// signing policy (key mode); either way the job's verified token names the run.
	var p *sign.Pipeline
	var claims *keyless.Claims
	var id *keyless.Identity
	var keyID string
	if f.key != "" {
		kp, err := keyPipeline(ctx, e, &f.signFlags, tr, al)
		if err != nil {
			return err
		}
		defer kp.key.Close()
		p, claims, keyID = kp.p, kp.claims, kp.key.ID
	} else {
		kl, err := keylessRun(ctx, e, &f.signFlags, tr, al)
		if err != nil {
			return err
		}
		p, claims, id = kl.p, kl.claims, kl.id
	}

	// 3. The statement.
	if predicate == nil {
		if predicate, err = attest.SLSAProvenance(runFromClaims(claims, f.serverURL)); err != nil {
			return err
		}
	}
	stmt, err := attest.Statement(subjects, predType, predicate)
	if err != nil {
		return err
	}

	// 4. Sign, log, timestamp, verify; write (or push, then write).
	digests := make([][]byte, len(subjects))
	for i, s := range subjects {
		digests[i] = s.Digest
	}
	name := subjects[0].Name
	if len(subjects) > 1 {
		name = fmt.Sprintf("%d subjects", len(subjects))
	}
	att := sign.Attestation{Name: name, Statement: stmt, Subjects: digests, Bundle: bundlePath}
	if f.push {
		att.Bundle = "" // pushed first; written only once the registry has it
	}
	r := p.Attest(ctx, att)
	if r.Err != nil {
		if errors.Is(r.Err, policy.ErrRefused) {
			return &refusedError{fmt.Errorf("attest %s: %w", name, r.Err)}
		}
		return fmt.Errorf("attest %s: %w", name, r.Err)
	}
	sum := sha256.Sum256(r.BundleJSON)
	attDigest := "sha256:" + hex.EncodeToString(sum[:])
	if f.push {
		h, err := reg.Attach(ctx, img, r.BundleJSON, predType)
		if err != nil {
			return fmt.Errorf("%w (nothing attached, no bundle written; the log entry %d stays)", err, r.LogIndex)
		}
		attDigest = h.String()
		if err := writeBundle(bundlePath, r.BundleJSON); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "attested %s -> referrer %s, %s (log index %d)\n", img.Digest, h, bundlePath, r.LogIndex)
	} else {
		fmt.Fprintf(e.stderr, "attested %s -> %s (log index %d)\n", name, bundlePath, r.LogIndex)
	}
	// The bundle is written and valid whatever GitHub answers; a refusal still fails
	// the step, since the job asked for the attestation to be on GitHub.
	attID := ""
	if ghAPI != nil {
		n, err := ghAPI.PublishAttestation(ctx, r.BundleJSON)
		if err != nil {
			return fmt.Errorf("bundle %s is written and valid, but not published: %w", bundlePath, err)
		}
		attID = strconv.FormatInt(n, 10)
		fmt.Fprintf(e.stderr, "published to the GitHub attestations of %s/%s: id %s\n", ghAPI.Owner, ghAPI.Name, attID)
	}

	// 5. Outputs.
	if id == nil {
		return keyAttestOutputs(e, &f, keyID, bundlePath, attDigest, attID, predType, firstOr(paths, "ARTIFACT"), r.LogIndex)
	}
	verifyCmd := fmt.Sprintf("cosign verify-blob-attestation --bundle %s --type %s --certificate-identity %s --certificate-oidc-issuer %s %s",
		shellQuote(bundlePath), shellQuote(predType), shellQuote(id.SAN), shellQuote(id.Issuer), shellQuote(firstOr(paths, "ARTIFACT")))
	if f.push {
		verifyCmd = fmt.Sprintf("cosign verify-attestation --new-bundle-format --type %s --certificate-identity %s --certificate-oidc-issuer %s %s",
			shellQuote(predType), shellQuote(id.SAN), shellQuote(id.Issuer), shellQuote(img.Digest.String()))
	}
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "bundle-path", bundlePath, "attestation-digest", attDigest, "certificate-identity", id.SAN,
			"certificate-oidc-issuer", id.Issuer, "log-index", strconv.FormatInt(r.LogIndex, 10), "verify-command", verifyCmd,
			"attestation-id", attID); err != nil {
			return err
		}
	}
	if f.showSummary && e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(attestSummary(subjects, predType, bundlePath, id.SAN, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "certificate identity: %s\nissuer: %s\nattestation digest: %s\n", id.SAN, id.Issuer, attDigest)
	if attID != "" {
		fmt.Fprintf(e.stdout, "github attestation id: %s\n", attID)
	}
	fmt.Fprintf(e.stdout, "verify with: %s\n", verifyCmd)
	return nil
}

// writeBundle writes verified bundle JSON atomically.
func writeBundle(path string, data []byte) error {
	return bundle.WriteBytes(path, data)
}

func readPredicate(path string) ([]byte, error) {
	b, err := regfile.ReadFile(path, maxPredicateSize)
	if err != nil {
		return nil, usagef("--predicate-path: %v", err)
	}
	return b, nil
}

func parseSHA256(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return nil, errors.New("want sha256: and 64 hex digits")
	}
	d, err := hex.DecodeString(h)
	if err != nil || len(d) != sha256.Size {
		return nil, errors.New("want sha256: and 64 hex digits")
	}
	return d, nil
}

// runFromClaims fills provenance from the verified token only.
func runFromClaims(c *keyless.Claims, serverURL string) *attest.GitHubRun {
	return &attest.GitHubRun{
		ServerURL: serverURL, JobWorkflowRef: c.JobWorkflowRef, WorkflowRef: c.WorkflowRef,
		Repository: c.Repository, RepositoryID: c.RepositoryID, RepositoryOwnerID: c.RepositoryOwnerID,
		Ref: c.Ref, SHA: c.SHA, EventName: c.EventName, RunID: c.RunID, RunAttempt: c.RunAttempt,
		RunnerEnvironment: c.RunnerEnvironment,
	}
}

// verifyImages checks the Sigstore bundles attached to each image as OCI referrers. A
// tag is resolved to a digest first and only that digest's referrers count: a tag moved
// to another image does not carry the old image's attestations. An image passes when one
// of its bundles verifies (as cosign verify does); otherwise its result carries the
// reasons of all.
func verifyImages(ctx context.Context, v *verify.Verifier, refs []string, reg *oci.Client) []verify.Result {
	var out []verify.Result
	for _, ref := range refs {
		r := verify.Result{Name: ref, Bundle: "oci-referrers"}
		img, err := reg.Resolve(ctx, ref)
		if err != nil {
			r.Reason, r.Error = verify.ReasonArtifact, err.Error()
			out = append(out, r)
			continue
		}
		r.Digest = img.Descriptor.Digest.String()
		d, _ := hex.DecodeString(img.Descriptor.Digest.Hex)
		refs, err := reg.Bundles(ctx, img)
		if err != nil {
			r.Reason, r.Error = verify.ReasonBundle, err.Error()
			out = append(out, r)
			continue
		}
		if len(refs) == 0 {
			r.Reason, r.Error = verify.ReasonBundle, fmt.Sprintf("no Sigstore bundle is attached to %s", img.Digest)
			out = append(out, r)
			continue
		}
		var reasons []string
		var ok *verify.Result
		for _, rf := range refs {
			b, err := verify.ParseBundle(rf.Bundle)
			if err != nil {
				reasons = append(reasons, fmt.Sprintf("%s: %v", rf.Manifest, err))
				continue
			}
			res := v.VerifyBundle(ref, d, b)
			if res.Verified {
				res.Bundle = img.Digest.Context().Digest(rf.Manifest.String()).String()
				ok = &res
				break
			}
			if r.Reason == "" {
				r.Reason = res.Reason
			}
			reasons = append(reasons, fmt.Sprintf("%s: %s", rf.Manifest, res.Error))
		}
		if ok != nil {
			ok.Name = ref
			if img.FromTag != "" {
				ok.Name = ref + " (" + img.Descriptor.Digest.String() + ")"
			}
			out = append(out, *ok)
			continue
		}
		if r.Reason == "" {
			r.Reason = verify.ReasonBundle
		}
		r.Error = fmt.Sprintf("none of %d attached bundles verifies: %s", len(refs), strings.Join(reasons, "; "))
		out = append(out, r)
	}
	return out
}

// keyAttestOutputs reports a key-mode attestation: key id instead of an identity.
func keyAttestOutputs(e *env, f *attestFlags, keyID, bundlePath, attDigest, attID, predType, artifact string, logIndex int64) error {
	verifyCmd := fmt.Sprintf("cosign verify-blob-attestation --key KEY.pub --bundle %s --type %s --trusted-root %s",
		shellQuote(bundlePath), shellQuote(predType), shellQuote(f.trustedRoot))
	if !f.tlogUpload {
		verifyCmd += " --insecure-ignore-tlog"
	}
	verifyCmd += " " + shellQuote(artifact)
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(e.action(), "bundle-path", bundlePath, "attestation-digest", attDigest, "key-id", keyID,
			"log-index", strconv.FormatInt(logIndex, 10), "verify-command", verifyCmd, "attestation-id", attID); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "key id: %s\ntenant: %s\nattestation digest: %s\n", keyID, f.tenant, attDigest)
	if attID != "" {
		fmt.Fprintf(e.stdout, "github attestation id: %s\n", attID)
	}
	fmt.Fprintf(e.stdout, "verify with: %s\n", verifyCmd)
	return nil
}

// attestSummary is the job summary of an attestation: what it is about, by whom, and
// how to check it.
func attestSummary(subjects []attest.Subject, predType, bundlePath, san, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet attest: %s over %d subject(s)\n\nSigned by `%s`; bundle `%s`.\n\n| subject | sha256 |\n| --- | --- |\n",
		mdEscape(predType), len(subjects), mdEscape(san), mdEscape(bundlePath))
	for _, s := range subjects {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", mdEscape(s.Name), hex.EncodeToString(s.Digest))
	}
	fmt.Fprintf(&b, "\nVerify with:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}
