package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sigstore/sigstore-go/pkg/root"
)

func cmdSign(ctx context.Context, args []string, e *env) error {
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
	pl := sign.Plan{Bundle: f.bundle, OutputDir: f.outputDir, ChecksumsPath: f.checksums}
	if pl.Paths, err = sign.ExpandDirs(paths); err != nil {
		return usagef("%v", err)
	}
	if f.checksums != "" {
		if pl.Checksums, err = readChecksums(f.checksums); err != nil {
			return err
		}
	}
	digests, err := digestsHint(f.subjectDigests)
	if err != nil {
		return err
	}
	for _, d := range digests {
		pl.Digests = append(pl.Digests, sign.Checksum{Name: hex.EncodeToString(d), Digest: d})
	}
	subjects, err := planHint(pl)
	if err != nil {
		return err
	}
	tr, err := signingTrustedRoot(e, &f) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}
	al, closeAudit, err := openAudit(f.auditLog, e.stderr)
	if err != nil {
		return err
	}
	defer closeAudit()
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
	r := report.Signing{Report: rep, Identity: id.SAN, Issuer: id.Issuer, Check: report.Check{Identity: id.SAN, Issuer: id.Issuer}}
	return r.Publish(e.stdout, e.outputs(f.showSummary))
}

// keylessPipeline gets the job's token, verifies it, derives the identity, has Fulcio
// certify one ephemeral key, and returns the pipeline every subject of the run shares.
func keylessPipeline(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*sign.Pipeline, *keyless.Identity, error) {
	k, err := keylessRun(ctx, e, f, tr, al)
	if err != nil {
		return nil, nil, err
	}
	return k.Pipeline, k.Identity, nil
}

// keylessRun is keylessPipeline with the claims kept (attest builds provenance from them).
func keylessRun(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*sign.Keyless, error) {
	var events []string
	for _, ev := range strings.Split(f.allowedEvents, ",") {
		if ev = strings.TrimSpace(ev); ev != "" {
			events = append(events, ev)
		}
	}
	k, err := sign.NewKeyless(ctx, sign.KeylessOptions{
		Token:  func(ctx context.Context) (string, error) { return loadToken(ctx, f.identityToken, e) },
		Issuer: f.issuer, ServerURL: f.serverURL,
		Expectations: keyless.Expectations{Repository: f.expRepo, Ref: f.expRef, Workflow: f.expWorkflow,
			AllowSelfHosted: f.allowSelfHosted, AllowedEvents: events},
		Services: f.svc, Trusted: tr, IgnoreSCT: f.ignoreSCT, Audit: al,
	})
	return k, tokenHint(err)
}

// tokenHint adds to a refused token (or an issuer Fulcio refuses) the flags that fix
// it; the refusal stays one.
func tokenHint(err error) error {
	switch {
	case errors.Is(err, keyless.ErrNoTokenPermission):
		return fmt.Errorf("%w (or pass --identity-token for local use)", err)
	case errors.Is(err, keyless.ErrIssuerNotConfigured):
		return fmt.Errorf("%w; set --oidc-issuer to the job's issuer", err)
	case errors.Is(err, keyless.ErrIssuerNotAccepted):
		return fmt.Errorf("%w; name one with --fulcio-url or --signing-config, or sign in key mode (--key)", err)
	}
	return err
}

// planHint is pl.Subjects with the flag a refusal is about.
func planHint(pl sign.Plan) ([]sign.Subject, error) {
	if pl.Len() == 0 {
		return nil, usagef("no artifact to sign: give paths, globs, directories, --checksums FILE or --subject-digest sha256:HEX (cachet sign [flags] ARTIFACT...)")
	}
	if pl.Bundle != "" && pl.Len() != 1 {
		return nil, usagef("--bundle names one bundle but %d artifacts were given; use --output-dir", pl.Len())
	}
	subjects, err := pl.Subjects()
	var pe *sign.PlanError
	if errors.As(err, &pe) {
		if flag, ok := planFlags[pe.What]; ok {
			return nil, usagef("%s%s", flag, pe.Detail)
		}
	}
	if err != nil {
		return nil, usagef("%v", err)
	}
	return subjects, nil
}

// planFlags name, for a sign.PlanError, the flag that gave the input.
var planFlags = map[string]string{"bundle path": "--bundle", "output directory": "--output-dir",
	"checksums": "--checksums", "checksums entry": "--checksums entry"}

// readChecksums is sign.ReadChecksumsFile with the flag named.
func readChecksums(path string) ([]sign.Checksum, error) {
	sums, err := sign.ReadChecksumsFile(path)
	var ce *sign.ChecksumsFileError
	switch {
	case errors.As(err, &ce):
		return nil, usagef("--checksums %v", err)
	case err != nil:
		return nil, usagef("--checksums: %v", err)
	}
	return sums, nil
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

// readToken is keyless.Token with the flag named.
func readToken(ctx context.Context, flagVal string, e *env) (string, error) {
	tok, err := keyless.Token(ctx, flagVal, &http.Client{Timeout: 30 * time.Second}, e.getenv)
	var tfe *keyless.TokenFileError
	if errors.As(err, &tfe) {
		return "", usagef("--identity-token: %v", tfe.Err)
	}
	return tok, err
}

// openAudit is audit.Open with the flag named.
func openAudit(path string, stderr io.Writer) (*audit.Logger, func() error, error) {
	l, closeAudit, err := audit.Open(path, stderr)
	if err != nil {
		return nil, nil, usagef("--audit-log: %v", err)
	}
	return l, closeAudit, nil
}
