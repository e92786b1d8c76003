package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cachet-sign/cachet/internal/inputs"
	"github.com/cachet-sign/cachet/internal/progress"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/trust"
)

type signFlags struct {
	// setup holds the services as the flags (and a followed signing config) name them,
	// --signing-config and --trusted-root.
	setup                                       sign.Setup
	issuer, serverURL, identityToken            string
	artifacts                                   inputs.List
	bundle, outputDir, auditLog                 string
	expRepo, expRef, expWorkflow, allowedEvents string
	allowSelfHosted, ignoreSCT                  bool
	timeout                                     time.Duration
	// Key mode.
	key, policyFile, tenant, rsaScheme string
	tlogUpload                         bool
	// Many subjects.
	checksums, progress string
	subjectDigests      inputs.List
	parallel            int
	resume, showSummary bool
	// The TUF repository trust and services come from without --trusted-root.
	tuf tufFlags
}

// register adds the flags sign and release share; withArtifacts adds the ones naming
// local artifacts and bundle paths, and key mode (sign only).
func (f *signFlags) register(fs *flag.FlagSet, withArtifacts bool) {
	f.registerIdentity(fs)
	fs.IntVar(&f.parallel, "parallel", 8, "subjects signed at once (Rekor and TSA requests in flight)")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, a line every 5 s or 10% otherwise), bar, lines, none")
	if !withArtifacts {
		return
	}
	fs.StringVar(&f.bundle, "bundle", "", "bundle path (one artifact only); default ARTIFACT.sigstore.json")
	fs.StringVar(&f.outputDir, "output-dir", "", "directory for bundles (NAME.sigstore.json)")
	fs.Var(&f.artifacts, "artifacts", "artifact path, glob or directory (repeatable; also positional); a directory means every regular file under it, recursively, but hidden ones and *.sigstore.json")
	fs.StringVar(&f.checksums, "checksums", "", "sign by digest the artifacts listed in this sha256sum file; bundles NAME.sigstore.json go to --output-dir (default: the file's directory)")
	// actions/attest's names for the same things.
	fs.Var(&f.artifacts, "subject-path", "alias of --artifacts (actions/attest's name)")
	fs.StringVar(&f.checksums, "subject-checksums", "", "alias of --checksums (actions/attest's name)")
	fs.Var(&f.subjectDigests, "subject-digest", "sha256:HEX of an artifact not on disk (repeatable); its bundle is HEX.sigstore.json in --output-dir (default: the working directory)")
	fs.BoolVar(&f.showSummary, "show-summary", true, "write the job summary (in Actions)")
	fs.BoolVar(&f.resume, "resume", true, "keep a bundle already at the bundle path when it verifies (trusted root, identity or key, digest); false signs everything again")
	f.registerKeyMode(fs)
}

// registerIdentity adds what every signing command needs: the services, the trusted
// root, the job's token and the expectations on it, the audit log and a time limit.
func (f *signFlags) registerIdentity(fs *flag.FlagSet) {
	fs.StringVar(&f.setup.Services.FulcioURL, "fulcio-url", "", "Fulcio URL; default the signing config's (--signing-config, else the TUF repository's: cosign v3's choice), else "+sign.DefaultFulcio)
	fs.StringVar(&f.setup.Services.RekorURL, "rekor-url", "", "Rekor URL; default the signing config's (the highest Rekor API version it lists), else "+sign.DefaultRekor)
	fs.UintVar(&f.setup.Services.RekorVersion, "rekor-api-version", 1, "the Rekor log's majorApiVersion: 1 (Rekor) or 2 (rekor-tiles; needs --timestamp-server-url); a signing config sets it")
	fs.Var((*inputs.List)(&f.setup.Services.TSAURLs), "timestamp-server-url", "RFC 3161 timestamp authority URL (repeatable; every one must answer); default the signing config's TSAs, per its selector")
	fs.StringVar(&f.issuer, "oidc-issuer", keyless.DefaultIssuer, "OIDC issuer of the job's token (an enterprise slug issuer or a GHES issuer)")
	fs.StringVar(&f.serverURL, "github-server-url", keyless.DefaultServerURL, "GitHub server whose URLs name workflows (GHES: https://HOST)")
	fs.StringVar(&f.identityToken, "identity-token", "", "OIDC token, or @FILE; default: request one from the runner")
	fs.StringVar(&f.setup.TrustedRoot, "trusted-root", "", "Sigstore trusted_root.json for Fulcio, Rekor and TSAs, or a cachet trust export file; default the TUF repository's (--tuf-url), from the trust cache while its TUF metadata is valid, else refreshed first")
	fs.StringVar(&f.auditLog, "audit-log", "-", "audit log file (JSON lines, appended); - for stderr")
	fs.StringVar(&f.expRepo, "expected-repository", "", "refuse unless the job's repository is this owner/name")
	fs.StringVar(&f.expRef, "expected-ref", "", "refuse unless the job's ref is this (refs/heads/main, refs/tags/v1)")
	fs.StringVar(&f.expWorkflow, "expected-workflow", "", "refuse unless the job workflow is this (owner/repo/.github/workflows/x.yml[@ref])")
	fs.StringVar(&f.allowedEvents, "allowed-events", "", "comma-separated events allowed to sign (push,release,...); default any")
	fs.BoolVar(&f.allowSelfHosted, "allow-self-hosted", false, "allow signing on self-hosted runners")
	fs.BoolVar(&f.ignoreSCT, "insecure-ignore-sct", false, "the self-check before a bundle is written accepts a certificate without a valid SCT from a CT log in the trusted root (for a private Fulcio without a CT log; verifiers then need it too)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "overall time limit")
}

// registerKeyMode adds key (HSM) mode's flags (sign and attest).
func (f *signFlags) registerKeyMode(fs *flag.FlagSet) {
	fs.StringVar(&f.key, "key", "", "key mode: sign with this key, a PKCS#11 URI (pkcs11:token=...;object=...?module-path=...&pin-source=file:PATH|env:NAME) or a PEM file (development)")
	fs.StringVar(&f.policyFile, "policy", "", "key mode: signing policy file (YAML) inside "+policy.Dir+", owned by root and writable by root alone (default "+policy.DefaultPath()+")")
	fs.StringVar(&f.tenant, "tenant", "", "key mode: tenant whose key signs; required with --key")
	fs.StringVar(&f.rsaScheme, "rsa-scheme", "pkcs1v15", "key mode, RSA keys: pkcs1v15 (what cosign verify-blob --key checks) or pss")
	fs.BoolVar(&f.tlogUpload, "tlog-upload", false, "key mode: also record the signature and public key in Rekor (keyless mode always does)")
}

func (f *signFlags) checkRun() error {
	if err := sign.CheckParallel(f.parallel); err != nil {
		return usagef("--parallel %d: %v", f.parallel, err)
	}
	if err := progress.CheckMode(f.progress); err != nil {
		return usagef("--progress %q: %v", f.progress, err)
	}
	return nil
}

// applySigningConfig records which service flags were given and follows an explicit
// --signing-config (sign.Setup.ReadSigningConfig: a plain signing config, or a cachet
// trust envelope, which may bring the trusted root too). Without one,
// signingTrustedRoot follows the signing config of the TUF repository (or of an
// imported trust cache) once it has resolved the trust. What a signing config chose
// is said on stderr.
func applySigningConfig(fs *flag.FlagSet, f *signFlags, e *env) error {
	set := inputs.Given(fs)
	f.setup.Explicit = sign.Explicit{Fulcio: set["fulcio-url"], Rekor: set["rekor-url"], TSA: set["timestamp-server-url"]}
	f.setup.Followed = func(s sign.Services) { fmt.Fprintln(e.stderr, "signing config:", s.String()) }
	return f.setupHint(f.setup.ReadSigningConfig())
}

// setupHint names the flags a sign.Setup refusal is about.
func (f *signFlags) setupHint(err error) error {
	var sce *sign.SigningConfigError
	switch {
	case errors.Is(err, sign.ErrRekorVersion):
		return usagef("--rekor-api-version %d: want 1 (Rekor) or 2 (rekor-tiles)", f.setup.Services.RekorVersion)
	case errors.Is(err, tlog.ErrNeedsTimestamp):
		return usagef("%v (--timestamp-server-url)", err)
	case errors.Is(err, sign.ErrNoSigningConfig):
		return usagef("--signing-config %s holds no signing config", f.setup.SigningConfig)
	case !errors.As(err, &sce):
		return err
	}
	msg := sce.Err.Error()
	if errors.Is(err, trust.ErrNoFulcio) {
		msg += " (--fulcio-url)"
	}
	if sce.File == "" {
		return usagef("the signing config of %s: %s", sce.From, msg)
	}
	return usagef("--signing-config %s: %s", sce.File, msg)
}
