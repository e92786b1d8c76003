package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/trust"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const (
	defaultFulcio = "https://fulcio.sigstore.dev"
	defaultRekor  = "https://rekor.sigstore.dev"
)

type signFlags struct {
	fulcioURL, rekorURL, issuer, serverURL, identityToken string
	rekorVersion                                          uint
	tsaURLs, artifacts                                    listFlag
	bundle, outputDir, trustedRoot, auditLog              string
	expRepo, expRef, expWorkflow, allowedEvents           string
	allowSelfHosted, ignoreSCT                            bool
	timeout                                               time.Duration
	// Key mode.
	key, policyFile, tenant, rsaScheme string
	tlogUpload                         bool
	// Many subjects.
	checksums, progress string
	subjectDigests      listFlag
	parallel            int
	resume, showSummary bool
	// Services from a signing config v0.2 (flags given explicitly win).
	signingConfig string
	set           map[string]bool // flags given on the command line or as inputs
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
	fs.StringVar(&f.fulcioURL, "fulcio-url", "", "Fulcio URL; default the signing config's (--signing-config, else the TUF repository's: cosign v3's choice), else "+defaultFulcio)
	fs.StringVar(&f.rekorURL, "rekor-url", "", "Rekor URL; default the signing config's (the highest Rekor API version it lists), else "+defaultRekor)
	fs.UintVar(&f.rekorVersion, "rekor-api-version", 1, "the Rekor log's majorApiVersion: 1 (Rekor) or 2 (rekor-tiles; needs --timestamp-server-url); a signing config sets it")
	fs.Var(&f.tsaURLs, "timestamp-server-url", "RFC 3161 timestamp authority URL (repeatable; every one must answer); default the signing config's TSAs, per its selector")
	fs.StringVar(&f.issuer, "oidc-issuer", keyless.DefaultIssuer, "OIDC issuer of the job's token (an enterprise slug issuer or a GHES issuer)")
	fs.StringVar(&f.serverURL, "github-server-url", keyless.DefaultServerURL, "GitHub server whose URLs name workflows (GHES: https://HOST)")
	fs.StringVar(&f.identityToken, "identity-token", "", "OIDC token, or @FILE; default: request one from the runner")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for Fulcio, Rekor and TSAs, or a cachet trust export file; default the TUF repository's (--tuf-url), from the trust cache while its TUF metadata is valid, else refreshed first")
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
	if f.parallel < 1 || f.parallel > 256 {
		return usagef("--parallel %d: want 1 to 256", f.parallel)
	}
	switch f.progress {
	case "auto", "bar", "lines", "none":
	default:
		return usagef("--progress %q: want auto, bar, lines or none", f.progress)
	}
	return nil
}

func cmdSign(ctx context.Context, args []string, e *env) error {
	a := e.action()
	var f signFlags
	fs := flag.NewFlagSet("cachet sign", flag.ContinueOnError)
	f.register(fs, true)
	f.registerSigningConfig(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if err := f.checkRun(); err != nil {
		return err
	}
	if err := applySigningConfig(fs, &f, time.Now(), e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// 1. Inputs, all checked before any network call.
	paths, err := expandArtifacts(append(append([]string{}, f.artifacts...), fs.Args()...), true, e.stderr)
	if err != nil {
		return err
	}
	if paths, err = expandDirs(paths); err != nil {
		return err
	}
	var sums []sign.Checksum
	if f.checksums != "" {
		if sums, err = readChecksums(f.checksums); err != nil {
			return err
		}
	}
	var digests []sign.Checksum
	for _, sd := range f.subjectDigests {
		d, err := parseSHA256(sd)
		if err != nil {
			return usagef("--subject-digest %q: %v", sd, err)
		}
		digests = append(digests, sign.Checksum{Name: hex.EncodeToString(d), Digest: d})
	}
	if len(paths)+len(sums)+len(digests) == 0 {
		return usagef("no artifact to sign: give paths, globs, directories, --checksums FILE or --subject-digest sha256:HEX (cachet sign [flags] ARTIFACT...)")
	}
	if f.bundle != "" && len(paths)+len(sums)+len(digests) != 1 {
		return usagef("--bundle names one bundle but %d artifacts were given; use --output-dir", len(paths)+len(sums)+len(digests))
	}
	subjects, err := planSubjects(paths, f.bundle, f.outputDir)
	if err != nil {
		return err
	}
	if subjects, err = planDigestSubjects(subjects, sums, f.checksums, f.bundle, f.outputDir); err != nil {
		return err
	}
	if subjects, err = planDigestSubjects(subjects, digests, "./digests", f.bundle, f.outputDir); err != nil {
		return err
	}
	tr, err := signingTrustedRoot(e, &f) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}
	auditW, closeAudit, err := openAudit(f.auditLog, e.stderr)
	if err != nil {
		return err
	}
	defer closeAudit()
	al := &audit.Logger{W: auditW}
	if f.key != "" {
		return signWithKey(ctx, e, &f, subjects, tr, al)
	}

	// 2-3. Token, identity, certificate.
	p, id, err := keylessPipeline(ctx, e, &f, tr, al)
	if err != nil {
		return err
	}

	// 4. One pipeline, one certificate, every artifact, f.parallel at a time.
	rep := runSubjects(ctx, e, p, subjects, &f, nil)

	// 5. Outputs.
	verifyCmd := fmt.Sprintf("cosign verify-blob --bundle %s --certificate-identity %s --certificate-oidc-issuer %s %s",
		shellQuote(firstOr(rep.bundles, "ARTIFACT.sigstore.json")), shellQuote(id.SAN), shellQuote(id.Issuer), shellQuote(firstOr(rep.artifacts, "ARTIFACT")))
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "bundle-paths", strings.Join(rep.bundles, "\n"), "certificate-identity", id.SAN,
			"certificate-oidc-issuer", id.Issuer, "log-index", strings.Join(rep.indexes, "\n"), "verify-command", verifyCmd); err != nil {
			return err
		}
	}
	if f.showSummary && e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(signSummary(rep.signed, rep.failed, id.SAN, id.Issuer, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "certificate identity: %s\nissuer: %s\nverify with: %s\n", id.SAN, id.Issuer, verifyCmd)
	return rep.err(len(subjects))
}

// applySigningConfig records which flags were given and follows an explicit
// --signing-config (a plain signing config, or a cachet trust envelope, which may bring
// the trusted root too). Without one, signingTrustedRoot follows the signing config of
// the TUF repository (or of an imported trust cache) once it has resolved the trust.
func applySigningConfig(fs *flag.FlagSet, f *signFlags, now time.Time, e *env) error {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.rekorVersion != 1 && f.rekorVersion != 2 {
		return usagef("--rekor-api-version %d: want 1 (Rekor) or 2 (rekor-tiles)", f.rekorVersion)
	}
	if f.signingConfig == "" {
		return nil
	}
	m, err := trust.ReadFile(f.signingConfig)
	if err != nil {
		return usagef("--signing-config %s: %v", f.signingConfig, err)
	}
	if m.SigningConfig == nil {
		return usagef("--signing-config %s holds no signing config", f.signingConfig)
	}
	if f.trustedRoot == "" && m.TrustedRoot != nil {
		f.trustedRoot = f.signingConfig
	}
	if err := f.follow(m.SigningConfig, now, e); err != nil {
		return usagef("--signing-config %s: %v", f.signingConfig, err)
	}
	return nil
}

// follow fills the service URLs not given explicitly from sc, as cosign v3 does: the
// newest valid Fulcio, the Rekor log of the highest API version the config lists (its
// selector), and the TSAs its selector picks, each of which must then answer.
func (f *signFlags) follow(sc *root.SigningConfig, now time.Time, e *env) error {
	// What a flag names is not selected from the config, so a config that cannot
	// supply it does not stand in the way.
	if f.set["fulcio-url"] {
		sc.WithFulcioCertificateAuthorityURLs()
	}
	if f.set["rekor-url"] {
		sc.WithRekorLogURLs()
	}
	if f.set["timestamp-server-url"] {
		sc.WithTimestampAuthorityURLs()
	}
	s, err := trust.Select(sc, now)
	if err != nil {
		return err
	}
	if s.FulcioURL != "" {
		f.fulcioURL = s.FulcioURL
	}
	if s.RekorURL != "" {
		f.rekorURL, f.rekorVersion = s.RekorURL, uint(s.RekorVersion)
	}
	if len(s.TSAURLs) > 0 {
		f.tsaURLs = s.TSAURLs
	}
	f.defaults()
	fmt.Fprintf(e.stderr, "signing config: Fulcio %s, Rekor %s (v%d), %d TSA(s) %s\n", f.fulcioURL, f.rekorURL, f.rekorVersion, len(f.tsaURLs), strings.Join(f.tsaURLs, " "))
	return nil
}

// defaults fills the service URLs neither a flag nor a signing config named.
func (f *signFlags) defaults() {
	if f.fulcioURL == "" {
		f.fulcioURL = defaultFulcio
	}
	if f.rekorURL == "" {
		f.rekorURL = defaultRekor
	}
}

// checkLog refuses a Rekor API version cachet does not speak, and a Rekor v2 log with
// no TSA when the run records its signatures (keyless always does; key mode with
// --tlog-upload).
func (f *signFlags) checkLog() error {
	if f.rekorVersion != 1 && f.rekorVersion != 2 {
		return usagef("--rekor-api-version %d: want 1 (Rekor) or 2 (rekor-tiles)", f.rekorVersion)
	}
	if f.rekorVersion == 2 && len(f.tsaURLs) == 0 && (f.key == "" || f.tlogUpload) {
		return usagef("%v", tlog.ErrNeedsTimestamp)
	}
	return nil
}

// transparencyLog is the run's log client: Rekor v1 or v2 by --rekor-api-version.
func (f *signFlags) transparencyLog(tr root.TrustedMaterial) tlog.Log {
	if f.rekorVersion == 2 {
		return &tlog.RekorV2{URL: f.rekorURL, Trusted: tr}
	}
	return &tlog.Rekor{URL: f.rekorURL, Trusted: tr}
}

// keylessPipeline gets the job's token, verifies it, derives the identity, has Fulcio
// certify one ephemeral key, and returns the pipeline every subject of the run shares.
func keylessPipeline(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*sign.Pipeline, *keyless.Identity, error) {
	k, err := keylessRun(ctx, e, f, tr, al)
	if err != nil {
		return nil, nil, err
	}
	return k.p, k.id, nil
}

// keylessSetup is keyless mode's share of a run: the pipeline, the certified identity
// and the verified claims it came from (attest builds provenance from them).
type keylessSetup struct {
	p      *sign.Pipeline
	id     *keyless.Identity
	claims *keyless.Claims
}

// keylessRun is keylessPipeline with the claims kept.
func keylessRun(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*keylessSetup, error) {
	// Token: from a flag, or from the runner (needs `id-token: write`).
	refuse := func(err error) error {
		if aerr := al.Log(audit.Event{Event: "codesign.keyless.refused", Issuer: f.issuer, Reason: err.Error()}); aerr != nil {
			return fmt.Errorf("audit log: %w (after refusing: %v)", aerr, err)
		}
		return &refusedError{err}
	}
	token, err := loadToken(ctx, f.identityToken, e)
	if errors.Is(err, keyless.ErrNoTokenPermission) {
		return nil, refuse(err)
	}
	if err != nil {
		return nil, err
	}

	// Identity and certificate.
	hc := &http.Client{Timeout: 30 * time.Second}
	var events []string
	for _, ev := range strings.Split(f.allowedEvents, ",") {
		if ev = strings.TrimSpace(ev); ev != "" {
			events = append(events, ev)
		}
	}
	cf := &keyless.Certifier{
		Verifier:  &keyless.Verifier{Issuer: f.issuer, HTTPClient: hc},
		ServerURL: f.serverURL,
		Expectations: keyless.Expectations{Repository: f.expRepo, Ref: f.expRef, Workflow: f.expWorkflow,
			AllowSelfHosted: f.allowSelfHosted, AllowedEvents: events},
		Fulcio: &keyless.Fulcio{URL: f.fulcioURL, HTTPClient: hc},
	}
	cert, err := cf.Certify(ctx, token)
	if err != nil {
		if keyless.IsRefusal(err) || errors.Is(err, keyless.ErrTokenInvalid) || errors.Is(err, keyless.ErrIssuerNotConfigured) ||
			errors.Is(err, keyless.ErrMalformedToken) || errors.Is(err, keyless.ErrCertificateMismatch) || errors.Is(err, keyless.ErrIssuerNotAccepted) {
			return nil, refuse(err)
		}
		return nil, err
	}
	id := cert.Identity
	log := f.transparencyLog(tr)
	check, err := sign.KeylessCheck(tr, id.SAN, id.Issuer, len(f.tsaURLs), log.IntegratedTime(), f.ignoreSCT)
	if err != nil {
		return nil, err
	}
	p := &sign.Pipeline{
		Signer: cert.Signer, Certificate: cert.Chain[0].Raw,
		Rekor:  log,
		Verify: check, Audit: al,
		SAN: id.SAN, Issuer: id.Issuer, CertSerial: cert.Chain[0].SerialNumber.Text(16),
	}
	if len(f.tsaURLs) > 0 {
		p.TSA = tsaClient(f.tsaURLs, tr, hc)
	}
	return &keylessSetup{p: p, id: id, claims: cert.Claims}, nil
}

// tsaClient is the TSA client of a run (its retries jitter, so parallel workers that
// failed together do not retry together).
func tsaClient(urls []string, tr *root.TrustedRoot, hc *http.Client) *tsa.Client {
	return &tsa.Client{URLs: urls, Mode: tsa.All, Trusted: tr.TimestampingAuthorities(), HTTPClient: hc}
}

// runReport is what a run of many subjects did, ready for outputs and the exit code.
type runReport struct {
	signed           []sign.Result // signed now or kept
	bundles, indexes []string
	artifacts        []string
	failed, refused  []string
	nSigned, nKept   int
}

// err is the run's error: which subjects failed, each with its reason.
func (r *runReport) err(total int) error {
	if len(r.refused) > 0 {
		return &refusedError{fmt.Errorf("%d of %d artifacts refused by the signing policy (the others' bundles are valid):\n  %s",
			len(r.refused), total, strings.Join(append(append([]string{}, r.refused...), r.failed...), "\n  "))}
	}
	if len(r.failed) > 0 {
		return fmt.Errorf("%d of %d artifacts not signed (the others' bundles are valid):\n  %s",
			len(r.failed), total, strings.Join(r.failed, "\n  "))
	}
	return nil
}

// runSubjects signs subjects f.parallel at a time, reports each on stderr as it
// finishes and shows progress. isRefusal sorts refusals from failures (key mode).
func runSubjects(ctx context.Context, e *env, p *sign.Pipeline, subjects []sign.Subject, f *signFlags, isRefusal func(error) bool) *runReport {
	pr := newProgress(e.stderr, f.progress, len(subjects))
	defer pr.stop()
	rep := &runReport{}
	outs := p.SignAll(ctx, subjects, sign.RunOptions{Parallel: f.parallel, Resume: f.resume, OnOutcome: func(o sign.Outcome) {
		var line string
		switch {
		case o.Err != nil:
			line = fmt.Sprintf("not signed %s: %v", o.Subject.Name, o.Err)
		case o.Kept:
			line = fmt.Sprintf("kept %s: %s verifies (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
		default:
			if o.Replaced != "" {
				line = fmt.Sprintf("replaced %s: %s\n", o.Subject.Bundle, o.Replaced)
			}
			if p.Certificate != nil {
				line += fmt.Sprintf("signed %s -> %s (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
			} else {
				line += fmt.Sprintf("signed %s -> %s (key %s)", o.Subject.Name, o.Subject.Bundle, p.KeyHint)
			}
		}
		pr.add(o, line)
	}})
	for _, o := range outs {
		switch {
		case o.Err != nil && isRefusal != nil && isRefusal(o.Err):
			rep.refused = append(rep.refused, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Err != nil:
			rep.failed = append(rep.failed, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Kept:
			rep.nKept++
		default:
			rep.nSigned++
		}
		rep.bundles = append(rep.bundles, o.Subject.Bundle)
		rep.signed = append(rep.signed, o.Result)
		rep.indexes = append(rep.indexes, strconv.FormatInt(o.LogIndex, 10))
		if o.Subject.Path != "" {
			rep.artifacts = append(rep.artifacts, o.Subject.Path)
		}
	}
	pr.stop()
	fmt.Fprintf(e.stderr, "%d signed, %d kept, %d failed of %d\n", rep.nSigned, rep.nKept, len(rep.failed)+len(rep.refused), len(subjects))
	return rep
}

// progress shows a run's advance on stderr: a redrawn bar with counts and rate on a
// terminal, a plain line every 5 s or every 10% otherwise (CI logs keep every line).
type progress struct {
	mu                      sync.Mutex
	w                       io.Writer
	mode                    string // bar, lines, none
	total, done, fail, kept int
	start, lastLine         time.Time
	lastDecile              int
	stopOnce                sync.Once
	quit                    chan struct{}
	drawn                   bool
}

func newProgress(w io.Writer, mode string, total int) *progress {
	if mode == "auto" {
		mode = "lines"
		if isTerminal(w) {
			mode = "bar"
		}
	}
	p := &progress{w: w, mode: mode, total: total, start: time.Now(), lastLine: time.Now(), quit: make(chan struct{})}
	if mode != "none" {
		// A tick keeps the display alive while retries hold every worker.
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-p.quit:
					return
				case <-t.C:
					p.mu.Lock()
					p.tick(false)
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// add records one finished subject and prints its line.
func (p *progress) add(o sign.Outcome, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	switch {
	case o.Err != nil:
		p.fail++
	case o.Kept:
		p.kept++
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, line)
	p.tick(true)
}

func (p *progress) tick(finished bool) {
	if p.total < 2 {
		return
	}
	now := time.Now()
	rate := float64(p.done) / max(now.Sub(p.start).Seconds(), 1e-3)
	switch p.mode {
	case "bar":
		const width = 30
		n := width * p.done / p.total
		eta := "-"
		if rate > 0 && p.done < p.total {
			eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d  %d failed  %d kept  %.1f/s  eta %s",
			strings.Repeat("#", n), strings.Repeat(".", width-n), p.done, p.total, p.fail, p.kept, rate, eta)
		p.drawn = true
	case "lines":
		decile := 10 * p.done / p.total
		if (finished && decile > p.lastDecile) || now.Sub(p.lastLine) >= 5*time.Second {
			fmt.Fprintf(p.w, "progress: %d/%d (%d%%), %d failed, %d kept, %.1f/s, %s elapsed\n",
				p.done, p.total, 100*p.done/p.total, p.fail, p.kept, rate, now.Sub(p.start).Round(time.Second))
			p.lastLine, p.lastDecile = now, decile
		}
	}
}

func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.quit)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.drawn {
			fmt.Fprintln(p.w)
			p.drawn = false
		}
	})
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// planSubjects checks every artifact is a readable regular file and picks bundle paths.
func planSubjects(paths []string, bundlePath, outDir string) ([]sign.Subject, error) {
	if outDir != "" {
		if st, err := os.Stat(outDir); err != nil || !st.IsDir() {
			return nil, usagef("--output-dir %s is not a directory", outDir)
		}
	}
	for what, v := range map[string]string{"--bundle": bundlePath, "--output-dir": outDir} {
		if err := checkName(what, v); err != nil {
			return nil, err
		}
	}
	taken := map[string]string{}
	var out []sign.Subject
	for _, p := range paths {
		if err := checkName("artifact", p); err != nil {
			return nil, err
		}
		if err := checkArtifact(p); err != nil {
			return nil, err
		}
		b := p + ".sigstore.json"
		switch {
		case bundlePath != "":
			b = bundlePath
		case outDir != "":
			b = filepath.Join(outDir, filepath.Base(p)+".sigstore.json")
		}
		if other, dup := taken[b]; dup {
			return nil, usagef("artifacts %s and %s would both write %s", other, p, b)
		}
		taken[b] = p
		out = append(out, sign.Subject{Path: p, Name: p, Bundle: b})
	}
	return out, nil
}

// expandDirs replaces each directory with the regular files under it, recursively, in
// lexical order. Hidden entries (a name starting with ".") and *.sigstore.json files
// are left out: a directory is usually a build output, and re-signing must not sign the
// previous run's bundles. Symbolic links are not followed (a link can point anywhere);
// a path given by name is kept as it is, and planSubjects judges it.
func expandDirs(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		n := 0
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && !strings.HasSuffix(d.Name(), ".sigstore.json") {
				out = append(out, path)
				n++
			}
			return nil
		})
		if err != nil {
			return nil, usagef("directory %s: %v", p, err)
		}
		if n == 0 {
			return nil, usagef("directory %s holds no file to sign (hidden files and *.sigstore.json are left out)", p)
		}
	}
	return out, nil
}

// maxChecksumsFile bounds a checksums file: a million 64-digit lines with long names.
const maxChecksumsFile = 256 << 20

func readChecksums(path string) ([]sign.Checksum, error) {
	fh, err := regfile.Open(path)
	if err != nil {
		return nil, usagef("--checksums: %v", err)
	}
	defer fh.Close()
	lr := &io.LimitedReader{R: fh, N: maxChecksumsFile + 1}
	sums, err := sign.ParseChecksums(lr)
	if err == nil && lr.N == 0 {
		return nil, usagef("--checksums %s is larger than %s: not a checksums file", path, regfile.Size(maxChecksumsFile))
	}
	if err != nil {
		return nil, usagef("--checksums %s: %v", path, err)
	}
	if len(sums) == 0 {
		return nil, usagef("--checksums %s lists no artifact", path)
	}
	return sums, nil
}

// planDigestSubjects adds the checksums file's entries, signed by digest: the bundle
// for NAME is NAME's base name + .sigstore.json in --output-dir, or beside the checksums
// file (where sha256sum -c would look for the artifacts).
func planDigestSubjects(subjects []sign.Subject, sums []sign.Checksum, sumsPath, bundlePath, outDir string) ([]sign.Subject, error) {
	if len(sums) == 0 {
		return subjects, nil
	}
	dir := outDir
	if dir == "" {
		dir = filepath.Dir(sumsPath)
	}
	taken := map[string]string{}
	for _, s := range subjects {
		taken[s.Bundle] = s.Name
	}
	for _, c := range sums {
		if err := checkName("--checksums entry", c.Name); err != nil {
			return nil, err
		}
		base := filepath.Base(filepath.FromSlash(c.Name))
		if base == "." || base == ".." || base == string(filepath.Separator) {
			return nil, usagef("--checksums: %q names no file", c.Name)
		}
		b := filepath.Join(dir, base+".sigstore.json")
		if bundlePath != "" {
			b = bundlePath
		}
		if other, dup := taken[b]; dup {
			return nil, usagef("artifacts %s and %s would both write %s", other, c.Name, b)
		}
		taken[b] = c.Name
		subjects = append(subjects, sign.Subject{Name: c.Name, Digest: c.Digest, Bundle: b})
	}
	return subjects, nil
}

// loadToken reads the identity token from the flag (a JWT or @FILE) or requests it
// from the runner, and masks it in Actions before anything else can print it.
func loadToken(ctx context.Context, flagVal string, e *env) (string, error) {
	tok, err := readToken(ctx, flagVal, e)
	if err == nil && tok != "" && e.inActions() {
		e.action().AddMask(tok)
	}
	return tok, err
}

// maxTokenFile bounds an --identity-token @FILE; a GitHub OIDC token is about 1 KiB.
const maxTokenFile = 64 << 10

func readToken(ctx context.Context, flagVal string, e *env) (string, error) {
	if flagVal != "" {
		if path, ok := strings.CutPrefix(flagVal, "@"); ok {
			b, err := regfile.ReadFile(path, maxTokenFile)
			if err != nil {
				return "", usagef("--identity-token: %v", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		return strings.TrimSpace(flagVal), nil
	}
	return keyless.FetchRunnerToken(ctx, &http.Client{Timeout: 30 * time.Second}, e.getenv, keyless.Audience)
}

func openAudit(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "" || path == "-" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, nil, usagef("--audit-log: %v", err)
	}
	return f, func() { f.Close() }, nil
}

func signSummary(signed []sign.Result, failed []string, san, issuer, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet sign: %d signed, %d failed\n\nIdentity `%s`, issuer `%s`\n\n", len(signed), len(failed), mdEscape(san), mdEscape(issuer))
	if len(signed) > 0 {
		b.WriteString("| artifact | sha256 | bundle | log index |\n| --- | --- | --- | --- |\n")
		for _, r := range signed {
			fmt.Fprintf(&b, "| `%s` | `%x` | `%s` | %d |\n", mdEscape(r.Subject.Name), r.Digest, mdEscape(r.Subject.Bundle), r.LogIndex)
		}
	}
	for _, f := range failed {
		fmt.Fprintf(&b, "\n❌ %s\n", mdEscape(f))
	}
	fmt.Fprintf(&b, "\nVerify:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}

// fileExists is true for a regular file at p.
func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
