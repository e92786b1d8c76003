package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/trust"
	"github.com/cachet-sign/cachet/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// policyFlags are the policy flags verify and verify-bundle share; names follow cosign.
type policyFlags struct {
	p                   verify.Policy
	policyFile, keyFile string
	trustedRoot         string
	tuf                 tufFlags
}

func (f *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.p.Identity, "certificate-identity", "", "exact certificate identity (SAN) required")
	fs.StringVar(&f.p.IdentityRegexp, "certificate-identity-regexp", "", "anchored regexp (^...$) the SAN must match")
	fs.StringVar(&f.p.Issuer, "certificate-oidc-issuer", "", "exact OIDC issuer required")
	fs.StringVar(&f.p.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "anchored regexp the issuer must match")
	fs.StringVar(&f.p.Repository, "repository", "", "source repository (owner/name or URL) required")
	fs.StringVar(&f.p.RepositoryID, "repository-id", "", "numeric source repository id required")
	fs.StringVar(&f.p.Ref, "ref", "", "source ref required (refs/tags/v1.2.3)")
	fs.StringVar(&f.p.Workflow, "workflow", "", "build signer workflow required (owner/repo/.github/workflows/x.yml[@ref] or URL)")
	fs.StringVar(&f.p.Event, "event", "", "trigger event required (push, release, ...)")
	fs.StringVar(&f.p.SourceDigest, "source-digest", "", "source commit required")
	fs.StringVar(&f.p.ServerURL, "github-server-url", "", "GitHub server for owner/name forms (default https://github.com)")
	fs.BoolVar(&f.p.AllowSelfHosted, "allow-self-hosted", false, "accept signatures made on self-hosted runners")
	fs.StringVar(&f.keyFile, "key", "", "public key (PEM file) for key-based bundles")
	fs.StringVar(&f.policyFile, "policy", "", "policy file (YAML or JSON, keys are these flag names); flags override it")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json or a cachet trust export file; default the TUF repository's (--tuf-url; its cache while valid, else refreshed; unreachable: what it last served, else the embedded public-good snapshot)")
	f.tuf.register(fs)
	fs.BoolVar(&f.tuf.staging, "staging", false, "without --trusted-root: trust the Sigstore staging instance ("+trust.StagingRepository+", through sigstore-go's embedded staging TUF root) instead of public-good")
	fs.IntVar(&f.p.MinTimestamps, "min-timestamps", 0, "RFC 3161 timestamps from trusted TSAs required")
	fs.BoolVar(&f.p.SkipTlog, "insecure-ignore-tlog", false, "accept bundles without a transparency-log entry (key mode with timestamps)")
	fs.BoolVar(&f.p.InsecureIgnoreSCT, "insecure-ignore-sct", false, "accept Fulcio certificates without a valid SCT from a CT log in the trusted root (default: one is required, as cosign requires it); results say the SCT was not checked")
	fs.StringVar(&f.p.PredicateType, "type", "", "attestation bundles: predicate type required (slsaprovenance1, spdx, cyclonedx, a URI), or any (a signature or an attestation of any type naming the artifact as a subject); verify requires it for attestations, verify-bundle defaults to any")
	fs.StringVar(&f.p.BuilderID, "builder-id", "", "SLSA provenance: builder id required (default: --workflow, else the signing workflow)")
}

// build merges the policy file and the flags (flags win) and loads the trusted root.
func (f *policyFlags) build(fs *flag.FlagSet, e *env) (*verify.Policy, root.TrustedMaterial, error) {
	// The policy keys are the flag names but for skip-tlog (--insecure-ignore-tlog) and
	// key, a PEM that --key (a file) never overrides: LoadPolicy reads the file itself.
	set := inputs.Given(fs) // inputs too: parseFlags set them through fs.Set
	set["skip-tlog"], set["key"] = set["insecure-ignore-tlog"], false
	p, err := verify.LoadPolicy(verify.PolicySources{File: f.policyFile, Key: f.keyFile, Given: &f.p,
		Named: func(key string) bool { return set[key] }})
	var fe *verify.PolicyFileError
	switch {
	case errors.As(err, &fe) && fe.Key:
		return nil, nil, usagef("--key: %v", fe.Err)
	case errors.As(err, &fe) && fe.Parsed:
		return nil, nil, usagef("--policy %s: %v", f.policyFile, fe.Err)
	case errors.As(err, &fe):
		return nil, nil, usagef("--policy: %v", fe.Err)
	case err != nil:
		return nil, nil, usagef("%v", err)
	}
	// A key-based policy has no certificate, so nothing to warn about.
	if p.InsecureIgnoreSCT && p.KeyPEM == "" {
		fmt.Fprintln(e.stderr, "cachet: warning: insecure-ignore-sct: certificates' SCTs are not checked, so a certificate no CT log has seen is accepted")
	}
	// --trusted-root (a trusted_root.json or a cachet trust envelope), else an imported
	// trust cache, else the TUF repository's (its cache while valid, else refreshed);
	// when the repository cannot be reached, what it last served, else the embedded
	// public-good snapshot, with a warning. Verification itself stays offline.
	r, err := resolveTrustedRoot(e, f.trustedRoot, true, &f.tuf)
	if err != nil {
		return nil, nil, err
	}
	return p, r.TrustedRoot, nil
}

func cmdVerify(ctx context.Context, args []string, e *env) error {
	var pf policyFlags
	var arts inputs.List
	var bundleDir, output, reportPath string
	var concurrency int
	fs := flag.NewFlagSet("cachet verify", flag.ContinueOnError)
	pf.register(fs)
	fs.Var(&arts, "artifacts", "artifact paths, globs or sha256:HEX=BUNDLE (repeatable; also positional)")
	fs.StringVar(&bundleDir, "bundle-dir", "", "directory holding NAME.sigstore.json (default: beside each artifact)")
	fs.StringVar(&output, "output", "text", "text or json")
	fs.StringVar(&reportPath, "report", "", "write the JSON report to this file")
	fs.IntVar(&concurrency, "concurrency", 0, "parallel verifications (default: number of CPUs)")
	var images inputs.List
	var insecureRegistry bool
	fs.Var(&images, "image", "container image REGISTRY/REPO[:TAG|@sha256:HEX] whose attached Sigstore bundles (OCI referrers) to verify (repeatable)")
	fs.BoolVar(&insecureRegistry, "allow-insecure-registry", false, "talk plain http to the registry (loopback and private addresses always do)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if output != "text" && output != "json" {
		return usagef("--output %q: want text or json", output)
	}
	p, tm, err := pf.build(fs, e)
	if err != nil {
		return err
	}
	plain, digests := verify.SplitArgs(append(append([]string{}, arts...), fs.Args()...))
	// Globs skip bundles, links and special files (expandArtifacts); a named artifact
	// that exists must be a regular file (verify.Subjects). A missing one is reported
	// with the results.
	paths, err := expandArtifacts(plain, false, e.stderr)
	if err != nil {
		return err
	}
	subjects, err := verify.Subjects(paths, digests, bundleDir)
	var nre *verify.NotRegularError
	switch {
	case errors.As(err, &nre):
		return usagef("%v", err)
	case err != nil:
		return usagef("%v (or pass --bundle-dir)", err)
	}
	if len(subjects) == 0 && len(images) == 0 {
		return usagef("nothing to verify: give artifact paths, globs, sha256:HEX=BUNDLE or --image")
	}
	v, err := verify.New(tm, p)
	if err != nil {
		return usagef("%v", err)
	}
	v.Concurrency = concurrency
	results := v.VerifyAll(ctx, subjects)
	if len(images) > 0 {
		reg := &oci.Client{Getenv: e.getenv, InsecureHTTP: insecureRegistry}
		results = append(results, verify.VerifyImages(ctx, v, images, reg)...)
	}
	o := report.VerifyOutputs{JSON: output == "json", ReportPath: reportPath}
	if e.inActions() {
		o.InRunner(e.outputs(true), e.getenv("RUNNER_TEMP"))
	}
	return report.NewVerification(results, p).Publish(e.stdout, o)
}

// cmdVerifyBundle verifies one artifact against one bundle, with cosign verify-blob's
// flags and as the sigstore-conformance client protocol asks (docs/cli_protocol.md):
//
//	verify-bundle --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key K) [--trusted-root T] FILE_OR_DIGEST
//
// A DSSE bundle verifies when the artifact is one of its statement's subjects, whatever
// the predicate type, unless --type (or the policy file) names one.
func cmdVerifyBundle(ctx context.Context, args []string, e *env) error {
	var pf policyFlags
	var bundle string
	fs := flag.NewFlagSet("cachet verify-bundle", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cachet verify-bundle --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key K) [--trusted-root T] [flags] FILE_OR_sha256:HEX\n\n")
		fs.PrintDefaults()
	}
	pf.register(fs)
	fs.StringVar(&bundle, "bundle", "", "bundle file (default ARTIFACT.sigstore.json)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("verify-bundle takes one artifact (a path or sha256:HEX), got %d", fs.NArg())
	}
	p, tm, err := pf.build(fs, e)
	if err != nil {
		return err
	}
	// As cosign verify-blob: any predicate type unless --type; a certificate without a
	// runner environment is judged by identity and issuer alone.
	p.AsVerifyBlob()
	if err := checkName("artifact", fs.Arg(0)); err != nil {
		return err
	}
	s, err := verify.BundleSubject(fs.Arg(0), bundle)
	if err != nil {
		return usagef("%v", err)
	}
	v, err := verify.New(tm, p)
	if err != nil {
		return usagef("%v", err)
	}
	r := v.Verify(ctx, s)
	if !r.Verified {
		return fmt.Errorf("%s: not verified: %s", r.Name, r.Error)
	}
	fmt.Fprintf(e.stdout, "Verified OK: %s\n", report.Describe(r))
	return nil
}

// cmdPolicy prints, for a bundle cachet (or cosign) made, the policy a consumer should
// pin and the exact commands that check it: the identity as an anchored regexp that
// allows any ref of the same workflow only when asked, the issuer, and the repository's
// numeric id, which survives renames and is not reusable by a squatter.
func cmdPolicy(ctx context.Context, args []string, e *env) error {
	var bundlePath string
	var anyRef bool
	fs := flag.NewFlagSet("cachet policy", flag.ContinueOnError)
	fs.StringVar(&bundlePath, "bundle", "", "a bundle of what was signed")
	fs.BoolVar(&anyRef, "any-ref", false, "accept the same workflow at any ref (for releases from tags)")
	var tf tufFlags
	tf.register(fs) // named in the printed commands: where the verifier's trust comes from
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if bundlePath == "" {
		return usagef("--bundle is required")
	}
	p, err := verify.PolicyForBundle(bundlePath, anyRef)
	var ve *verify.Error
	switch {
	case errors.Is(err, verify.ErrKeyBundle):
		return usagef("%s is a key-based bundle: verify it with --key", bundlePath)
	case errors.As(err, &ve):
		return usagef("%v", err)
	case err != nil:
		return err
	}
	tufURL, path, err := tf.repository().Names(e.getenv)
	if err != nil {
		return tufHint(err)
	}
	return report.WritePolicy(e.stdout, p, tufURL, path)
}
