package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/sign"
)

type attestFlags struct {
	signFlags
	subjectPaths, subjectDigests  inputs.List
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
	if err := applySigningConfig(fs, &f.signFlags, e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// 1. Inputs, all checked before anything is signed.
	pl := sign.AttestPlan{Name: f.subjectName, PredicateType: f.predicateType, AllowUnknownPredicate: f.allowUnknown,
		PredicatePath: f.predicatePath, Bundle: f.bundle, Dir: e.getenv("RUNNER_TEMP")}
	predType, predicate, err := pl.Predicate()
	if err != nil {
		return attestPlanHint(err, predType)
	}
	if pl.Paths, err = expandArtifacts(append(append([]string{}, f.subjectPaths...), fs.Args()...), false, e.stderr); err != nil {
		return err
	}
	if f.subjectChecksums != "" {
		if pl.Checksums, err = readChecksums(f.subjectChecksums); err != nil {
			return err
		}
	}
	if pl.Digests, err = digestsHint(f.subjectDigests); err != nil {
		return err
	}
	subjects, err := pl.Subjects(ctx)
	if err != nil {
		return attestPlanHint(err, predType)
	}
	var reg *oci.Client
	var img *oci.Image
	if f.push {
		reg = &oci.Client{Getenv: e.getenv, InsecureHTTP: f.insecureRegistry}
		if img, subjects, err = pl.ImageSubject(ctx, reg, firstOr(f.subjectDigests)); err != nil {
			return imageHint(err, f.subjectName)
		}
		if img.FromTag != "" {
			fmt.Fprintf(e.stderr, "resolved %s to %s\n", f.subjectName, img.Digest)
		}
	}
	bundlePath, err := pl.Check(subjects, predType, predicate) // a bad predicate stops here
	if err != nil {
		return attestPlanHint(err, predType)
	}
	ghAPI, err := f.github.target(e) // nil without --github-attestations
	if err != nil {
		return err
	}
	tr, err := signingTrustedRoot(e, &f.signFlags) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}

	// 2. Identity and signer: a Fulcio certificate (keyless), or a key gated by the
	// signing policy (key mode); either way the job's verified token names the run.
	sg, done, err := newSigner(ctx, e, &f.signFlags, tr)
	if err != nil {
		return err
	}
	defer done()

	// 3-4. The statement; sign, log, timestamp, verify; write (or push, then write).
	st := sign.Statement{Subjects: subjects, PredicateType: predType, Predicate: predicate,
		Claims: sg.Claims, ServerURL: f.serverURL, Bundle: bundlePath}
	if f.push {
		st.Registry, st.Image = reg, img
	}
	r, err := sg.Pipeline.AttestStatement(ctx, st)
	if err != nil {
		return err // a refusal stays sign.ErrRefused
	}
	if r.Referrer {
		fmt.Fprintf(e.stderr, "attested %s -> referrer %s, %s (log index %d)\n", img.Digest, r.Digest, bundlePath, r.LogIndex)
	} else {
		fmt.Fprintf(e.stderr, "attested %s -> %s (log index %d)\n", r.Name, bundlePath, r.LogIndex)
	}
	// The bundle is written and valid whatever GitHub answers; a refusal still fails
	// the step, since the job asked for the attestation to be on GitHub.
	attID := ""
	if ghAPI != nil {
		n, err := ghAPI.PublishAttestation(ctx, r.Bundle)
		if err != nil {
			return fmt.Errorf("bundle %s is written and valid, but not published: %w", bundlePath, err)
		}
		attID = strconv.FormatInt(n, 10)
		fmt.Fprintf(e.stderr, "published to the GitHub attestations of %s/%s: id %s\n", ghAPI.Owner, ghAPI.Name, attID)
	}

	// 5. Outputs.
	who, check, err := report.SignerOf(sg, f.tenant, f.setup.TrustedRoot, f.tlogUpload)
	if err != nil {
		return err
	}
	out := report.Attestation{Subjects: subjects, Digest: r.Digest, LogIndex: r.LogIndex, GitHubID: attID, Signer: who, Check: check}
	out.Check.Bundle, out.Check.Artifact, out.Check.PredicateType = bundlePath, firstOr(pl.Paths), predType
	if f.push && sg.Key == nil {
		out.Check.Image = img.Digest.String()
	}
	return out.Publish(e.stdout, e.outputs(f.showSummary))
}

// attestPlanHint names the flags a sign.AttestPlan refusal is about; predType is the
// predicate type, when known.
func attestPlanHint(err error, predType string) error {
	var pe *sign.PlanError
	switch {
	case errors.Is(err, sign.ErrPredicateRequired):
		return usagef("--predicate-path is required for predicate type %s (only SLSA provenance is generated)", predType)
	case errors.Is(err, sign.ErrDigestNeedsName):
		return usagef("--subject-digest needs --subject-name")
	case errors.Is(err, sign.ErrNothingToAttest):
		return usagef("nothing to attest: give --subject-path, or --subject-name with --subject-digest")
	case errors.As(err, &pe) && pe.What == "predicate type":
		return usagef("--predicate-type%s (--allow-unknown-predicate accepts other URIs)", pe.Detail)
	case errors.As(err, &pe):
		flag := map[string]string{"checksums entry": "--subject-checksums entry", "subject name": "--subject-name",
			"bundle path": "--bundle", "predicate file": "--predicate-path"}[pe.What]
		if flag != "" {
			return usagef("%s%s", flag, pe.Detail)
		}
	}
	return usagef("%v", err)
}

// imageHint names the flags an AttestPlan.ImageSubject refusal is about.
func imageHint(err error, name string) error {
	switch {
	case errors.Is(err, sign.ErrOneImage):
		return usagef("--push-to-registry attests one image: give --subject-name REGISTRY/REPO[:TAG] (and --subject-digest sha256:HEX), no subject-path")
	case errors.Is(err, sign.ErrNoImage):
		return usagef("--push-to-registry needs --subject-name: the image (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX)")
	case errors.Is(err, oci.ErrNotRepository):
		return usagef("--subject-name %q with --subject-digest: %v", name, err)
	case errors.Is(err, oci.ErrNotFound):
		return usagef("%v", err)
	}
	return err
}

// digestsHint is sign.ParseDigests with the flag named.
func digestsHint(args []string) ([][]byte, error) {
	ds, err := sign.ParseDigests(args)
	var de *sign.DigestError
	if errors.As(err, &de) {
		return nil, usagef("--subject-digest %q: %v", de.Arg, err)
	}
	return ds, err
}

func firstOr(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}
