package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/trust"
	"github.com/cachet-sign/cachet/verify"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// policyFlags are the policy flags verify and verify-bundle share; names follow cosign.
type policyFlags struct {
	p                       verify.Policy
	policyFile, keyFile     string
	trustedRoot             string
	allowSelfHosted         bool
	minTimestamps           int
	skipTlog, allowUnanchor bool
	ignoreSCT               bool
	tuf                     tufFlags
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
	fs.BoolVar(&f.allowSelfHosted, "allow-self-hosted", false, "accept signatures made on self-hosted runners")
	fs.StringVar(&f.keyFile, "key", "", "public key (PEM file) for key-based bundles")
	fs.StringVar(&f.policyFile, "policy", "", "policy file (YAML or JSON, keys are these flag names); flags override it")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json or a cachet trust export file; default the TUF repository's (--tuf-url; its cache while valid, else refreshed; unreachable: what it last served, else the embedded public-good snapshot)")
	f.tuf.register(fs)
	fs.BoolVar(&f.tuf.staging, "staging", false, "without --trusted-root: trust the Sigstore staging instance ("+trust.StagingRepository+", through sigstore-go's embedded staging TUF root) instead of public-good")
	fs.IntVar(&f.minTimestamps, "min-timestamps", 0, "RFC 3161 timestamps from trusted TSAs required")
	fs.BoolVar(&f.skipTlog, "insecure-ignore-tlog", false, "accept bundles without a transparency-log entry (key mode with timestamps)")
	fs.BoolVar(&f.ignoreSCT, "insecure-ignore-sct", false, "accept Fulcio certificates without a valid SCT from a CT log in the trusted root (default: one is required, as cosign requires it); results say the SCT was not checked")
	fs.StringVar(&f.p.PredicateType, "type", "", "attestation bundles: predicate type required (slsaprovenance1, spdx, cyclonedx, a URI), or any (a signature or an attestation of any type naming the artifact as a subject); verify requires it for attestations, verify-bundle defaults to any")
	fs.StringVar(&f.p.BuilderID, "builder-id", "", "SLSA provenance: builder id required (default: --workflow, else the signing workflow)")
}

// Limits of the small files verify reads whole: a policy is a few lines, a PEM public
// key (even RSA 8192 or a short chain of them) a few KiB.
const (
	maxPolicyFile = 1 << 20
	maxKeyFile    = 64 << 10
)

// build merges the policy file and the flags (flags win) and loads the trusted root.
func (f *policyFlags) build(fs *flag.FlagSet, e *env) (*verify.Policy, root.TrustedMaterial, error) {
	p := &verify.Policy{}
	if f.policyFile != "" {
		data, err := regfile.ReadFile(f.policyFile, maxPolicyFile)
		if err != nil {
			return nil, nil, usagef("--policy: %v", err)
		}
		if p, err = verify.ParsePolicy(data); err != nil {
			return nil, nil, usagef("--policy %s: %v", f.policyFile, err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	// Inputs count as set too (parseFlags set them through fs.Set, so Visit sees them).
	// The policy keys are the flag names but for these.
	flagOf := map[string]string{"skip-tlog": "insecure-ignore-tlog", "key": ""}
	flags := f.p
	flags.AllowSelfHosted, flags.MinTimestamps, flags.SkipTlog, flags.InsecureIgnoreSCT = f.allowSelfHosted, f.minTimestamps, f.skipTlog, f.ignoreSCT
	p.Override(&flags, func(key string) bool {
		if name, ok := flagOf[key]; ok {
			return set[name]
		}
		return set[key]
	})
	if f.keyFile != "" {
		b, err := regfile.ReadFile(f.keyFile, maxKeyFile)
		if err != nil {
			return nil, nil, usagef("--key: %v", err)
		}
		p.KeyPEM = string(b)
	}
	// After --key: a key-based policy has no certificate, so nothing to warn about.
	if p.InsecureIgnoreSCT && p.KeyPEM == "" {
		fmt.Fprintln(e.stderr, "cachet: warning: insecure-ignore-sct: certificates' SCTs are not checked, so a certificate no CT log has seen is accepted")
	}
	if err := p.Validate(); err != nil {
		return nil, nil, usagef("%v", err)
	}
	// A plain trusted_root.json or a cachet trust envelope (cachet trust export), else
	// the trust cache, else the embedded public-good snapshot; said on stderr.
	tr, err := verifyTrustedRoot(e, f.trustedRoot, &f.tuf)
	if err != nil {
		return nil, nil, err
	}
	return p, tr, nil
}

// parseSubject reads "PATH", or "sha256:HEX" / "sha256:HEX=BUNDLE" for an artifact we
// don't have.
func parseSubject(arg, bundleFlag, bundleDir string) (verify.Subject, error) {
	if rest, ok := strings.CutPrefix(arg, "sha256:"); ok {
		hexDigest, bundle, _ := strings.Cut(rest, "=")
		d, err := hex.DecodeString(hexDigest)
		if err != nil || len(d) != 32 {
			return verify.Subject{}, usagef("%q: a digest is sha256: and 64 hex digits", arg)
		}
		switch {
		case bundle != "":
		case bundleFlag != "":
			bundle = bundleFlag
		case bundleDir != "":
			bundle = filepath.Join(bundleDir, hexDigest+".sigstore.json")
		default:
			return verify.Subject{}, usagef("%q: no bundle: write sha256:HEX=BUNDLE or pass --bundle", arg)
		}
		return verify.Subject{Name: "sha256:" + hexDigest, Digest: d, Bundle: bundle}, nil
	}
	bundle := arg + ".sigstore.json"
	switch {
	case bundleFlag != "":
		bundle = bundleFlag
	case bundleDir != "":
		bundle = filepath.Join(bundleDir, filepath.Base(arg)+".sigstore.json")
	}
	return verify.Subject{Name: arg, Path: arg, Bundle: bundle}, nil
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
	if p.PredicateType == "" {
		p.PredicateType = verify.AnyPredicateType
	}
	// As cosign verify-blob: a certificate that does not say where it was made (no
	// runner environment extension) is judged by identity and issuer alone; one that
	// says self-hosted is still refused without --allow-self-hosted.
	p.AllowUnrecordedRunner = true
	if err := checkName("artifact", fs.Arg(0)); err != nil {
		return err
	}
	s, err := bundleSubject(fs.Arg(0), bundle)
	if err != nil {
		return err
	}
	v, err := verify.New(tm, p)
	if err != nil {
		return usagef("%v", err)
	}
	r := v.Verify(ctx, s)
	if !r.Verified {
		return fmt.Errorf("%s: not verified: %s", r.Name, r.Error)
	}
	fmt.Fprintf(e.stdout, "Verified OK: %s\n", describe(r))
	return nil
}

// bundleSubject reads verify-bundle's artifact as the conformance protocol defines
// FILE_OR_DIGEST: sha256: and 64 hex digits that do not name a file on disk are a
// digest; anything else is a path. A sha256: argument that is neither is refused with
// both readings, not reported as a missing file.
func bundleSubject(arg, bundle string) (verify.Subject, error) {
	if rest, ok := strings.CutPrefix(arg, "sha256:"); ok {
		if _, err := os.Stat(arg); err != nil {
			if d, err := hex.DecodeString(rest); err != nil || len(d) != 32 {
				return verify.Subject{}, usagef("%q is neither a file nor a digest (sha256: and 64 hex digits)", arg)
			}
			return parseSubject(arg, bundle, "")
		}
	}
	s := verify.Subject{Name: arg, Path: arg, Bundle: arg + ".sigstore.json"}
	if bundle != "" {
		s.Bundle = bundle
	}
	return s, nil
}

func describe(r verify.Result) string {
	s := r.Name
	if r.PredicateType != "" {
		s += " (attestation " + r.PredicateType + ")"
	}
	if r.Identity != "" {
		s += " signed by " + r.Identity
	}
	if !r.SignedAt.IsZero() {
		s += " at " + r.SignedAt.Format(time.RFC3339)
	}
	if r.SCTUnchecked {
		s += " (SCT not checked: insecure-ignore-sct)"
	}
	return s
}

// verifyReport is the JSON report of cachet verify.
type verifyReport struct {
	Verified int             `json:"verified"`
	Failed   int             `json:"failed"`
	Results  []verify.Result `json:"results"`
	Policy   *verify.Policy  `json:"policy"`
}

func cmdVerify(ctx context.Context, args []string, e *env) error {
	var pf policyFlags
	var arts listFlag
	var bundleDir, output, reportPath string
	var concurrency int
	fs := flag.NewFlagSet("cachet verify", flag.ContinueOnError)
	pf.register(fs)
	fs.Var(&arts, "artifacts", "artifact paths, globs or sha256:HEX=BUNDLE (repeatable; also positional)")
	fs.StringVar(&bundleDir, "bundle-dir", "", "directory holding NAME.sigstore.json (default: beside each artifact)")
	fs.StringVar(&output, "output", "text", "text or json")
	fs.StringVar(&reportPath, "report", "", "write the JSON report to this file")
	fs.IntVar(&concurrency, "concurrency", 0, "parallel verifications (default: number of CPUs)")
	var images listFlag
	var insecureRegistry bool
	fs.Var(&images, "image", "container image REGISTRY/REPO[:TAG|@sha256:HEX] whose attached Sigstore bundles (OCI referrers) to verify (repeatable)")
	fs.BoolVar(&insecureRegistry, "allow-insecure-registry", false, "talk plain http to the registry (loopback and private addresses always do)")
	a := e.action()
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
	var plain, digests []string
	for _, x := range append(append([]string{}, arts...), fs.Args()...) {
		if strings.HasPrefix(x, "sha256:") {
			digests = append(digests, x)
		} else {
			plain = append(plain, x)
		}
	}
	// Globs skip bundles, links and special files (expandArtifacts); a named artifact
	// that exists must be a regular file: a FIFO would block, a device never ends. A
	// missing one is reported with the results.
	paths, err := expandArtifacts(plain, false, e.stderr)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			return usagef("artifact %s is %s: only regular files are artifacts", p, regfile.Kind(st.Mode()))
		}
	}
	var subjects []verify.Subject
	for _, x := range append(paths, digests...) {
		s, err := parseSubject(x, "", bundleDir)
		if err != nil {
			return err
		}
		subjects = append(subjects, s)
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
	rep := verifyReport{Results: results, Policy: p}
	for _, r := range results {
		if r.Verified {
			rep.Verified++
		} else {
			rep.Failed++
		}
	}
	repJSON, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if reportPath == "" && e.inActions() && e.getenv("RUNNER_TEMP") != "" {
		reportPath = filepath.Join(e.getenv("RUNNER_TEMP"), "cachet-verify-report.json")
	}
	if reportPath != "" {
		if err := os.WriteFile(reportPath, append(repJSON, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if output == "json" {
		fmt.Fprintln(e.stdout, string(repJSON))
	} else {
		for _, r := range results {
			if r.Verified {
				fmt.Fprintf(e.stdout, "OK    %s\n", describe(r))
			} else {
				fmt.Fprintf(e.stdout, "FAIL  %s: %s\n", r.Name, r.Error)
			}
		}
		fmt.Fprintf(e.stdout, "%d verified, %d failed\n", rep.Verified, rep.Failed)
	}
	if e.inActions() {
		for _, r := range results {
			if !r.Verified {
				a.WithFieldsMap(map[string]string{"title": "cachet verify: " + string(r.Reason)}).Errorf("%s: %s", r.Name, r.Error)
			}
		}
		if e.getenv("GITHUB_OUTPUT") != "" {
			if err := setOutputs(a, "verified", strconv.Itoa(rep.Verified), "failed", strconv.Itoa(rep.Failed), "report", reportPath); err != nil {
				return err
			}
		}
		if e.getenv("GITHUB_STEP_SUMMARY") != "" {
			a.AddStepSummary(verifySummary(results, rep))
		}
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d artifacts failed verification", rep.Failed, len(results))
	}
	return nil
}

func verifySummary(results []verify.Result, rep verifyReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet verify: %d verified, %d failed\n\n| artifact | result | identity / reason | signed at |\n| --- | --- | --- | --- |\n", rep.Verified, rep.Failed)
	for _, r := range results {
		if r.Verified {
			id := mdEscape(r.Identity)
			if r.SCTUnchecked {
				id += " (SCT not checked)"
			}
			fmt.Fprintf(&b, "| `%s` | ✅ verified | %s | %s |\n", mdEscape(r.Name), id, r.SignedAt.Format(time.RFC3339))
		} else {
			fmt.Fprintf(&b, "| `%s` | ❌ %s | %s | |\n", mdEscape(r.Name), r.Reason, mdEscape(r.Error))
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
