package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/tlog"
	"github.com/cachet-sign/cachet/tsa"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const (
	defaultFulcio = "https://fulcio.sigstore.dev"
	defaultRekor  = "https://rekor.sigstore.dev"
)

type signFlags struct {
	fulcioURL, rekorURL, issuer, serverURL, identityToken string
	tsaURLs, artifacts                                    listFlag
	bundle, outputDir, trustedRoot, auditLog              string
	expRepo, expRef, expWorkflow, allowedEvents           string
	allowSelfHosted                                       bool
	timeout                                               time.Duration
	// Key mode.
	key, policyFile, tenant, rsaScheme string
	tlogUpload                         bool
}

func cmdSign(ctx context.Context, args []string, e *env) error {
	a := e.action()
	var f signFlags
	fs := flag.NewFlagSet("cachet sign", flag.ContinueOnError)
	fs.StringVar(&f.fulcioURL, "fulcio-url", defaultFulcio, "Fulcio URL")
	fs.StringVar(&f.rekorURL, "rekor-url", defaultRekor, "Rekor URL")
	fs.Var(&f.tsaURLs, "timestamp-server-url", "RFC 3161 timestamp authority URL (repeatable; every one must answer)")
	fs.StringVar(&f.issuer, "oidc-issuer", keyless.DefaultIssuer, "OIDC issuer of the job's token (an enterprise slug issuer or a GHES issuer)")
	fs.StringVar(&f.serverURL, "github-server-url", keyless.DefaultServerURL, "GitHub server whose URLs name workflows (GHES: https://HOST)")
	fs.StringVar(&f.identityToken, "identity-token", "", "OIDC token, or @FILE; default: request one from the runner")
	fs.StringVar(&f.bundle, "bundle", "", "bundle path (one artifact only); default ARTIFACT.sigstore.json")
	fs.StringVar(&f.outputDir, "output-dir", "", "directory for bundles (NAME.sigstore.json)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for Fulcio, Rekor and TSAs (required)")
	fs.StringVar(&f.auditLog, "audit-log", "-", "audit log file (JSON lines, appended); - for stderr")
	fs.StringVar(&f.expRepo, "expected-repository", "", "refuse unless the job's repository is this owner/name")
	fs.StringVar(&f.expRef, "expected-ref", "", "refuse unless the job's ref is this (refs/heads/main, refs/tags/v1)")
	fs.StringVar(&f.expWorkflow, "expected-workflow", "", "refuse unless the job workflow is this (owner/repo/.github/workflows/x.yml[@ref])")
	fs.StringVar(&f.allowedEvents, "allowed-events", "", "comma-separated events allowed to sign (push,release,...); default any")
	fs.BoolVar(&f.allowSelfHosted, "allow-self-hosted", false, "allow signing on self-hosted runners")
	fs.Var(&f.artifacts, "artifacts", "artifact path or glob (repeatable; also positional)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "overall time limit")
	fs.StringVar(&f.key, "key", "", "key mode: sign with this key, a PKCS#11 URI (pkcs11:token=...;object=...?module-path=...&pin-source=file:PATH|env:NAME) or a PEM file (development)")
	fs.StringVar(&f.policyFile, "policy", "", "key mode: signing policy file (YAML); required with --key")
	fs.StringVar(&f.tenant, "tenant", "", "key mode: tenant whose key signs; required with --key")
	fs.StringVar(&f.rsaScheme, "rsa-scheme", "pkcs1v15", "key mode, RSA keys: pkcs1v15 (what cosign verify-blob --key checks) or pss")
	fs.BoolVar(&f.tlogUpload, "tlog-upload", false, "key mode: also record the signature and public key in Rekor (keyless mode always does)")
	if err := parseFlags(fs, args, a, e.stderr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// 1. Inputs, all checked before any network call.
	paths, err := expandArtifacts(append(append([]string{}, f.artifacts...), fs.Args()...))
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("no artifact to sign: give paths or globs (cachet sign [flags] ARTIFACT...)")
	}
	if f.bundle != "" && len(paths) != 1 {
		return usagef("--bundle names one bundle but %d artifacts were given; use --output-dir", len(paths))
	}
	subjects, err := planSubjects(paths, f.bundle, f.outputDir)
	if err != nil {
		return err
	}
	if f.trustedRoot == "" {
		return usagef("no trusted root: pass --trusted-root FILE (Sigstore trusted_root.json for the Fulcio, Rekor and TSAs you sign with)")
	}
	tr, err := root.NewTrustedRootFromPath(f.trustedRoot)
	if err != nil {
		return usagef("--trusted-root %s: %v", f.trustedRoot, err)
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

	// 2. Token: from a flag, or from the runner (needs `id-token: write`).
	refuse := func(err error) error {
		if aerr := al.Log(audit.Event{Event: "codesign.keyless.refused", Issuer: f.issuer, Reason: err.Error()}); aerr != nil {
			return fmt.Errorf("audit log: %w (after refusing: %v)", aerr, err)
		}
		return &refusedError{err}
	}
	token, err := loadToken(ctx, f.identityToken, e)
	if errors.Is(err, keyless.ErrNoTokenPermission) {
		return refuse(err)
	}
	if err != nil {
		return err
	}
	if e.inActions() {
		a.AddMask(token)
	}

	// 3. Identity and certificate.
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
			errors.Is(err, keyless.ErrMalformedToken) || errors.Is(err, keyless.ErrCertificateMismatch) {
			return refuse(err)
		}
		return err
	}
	id := cert.Identity

	// 4. One pipeline, one certificate, every artifact.
	check, err := sign.KeylessCheck(tr, id.SAN, id.Issuer, len(f.tsaURLs))
	if err != nil {
		return err
	}
	p := &sign.Pipeline{
		Signer: cert.Signer, Certificate: cert.Chain[0].Raw,
		Rekor:  &tlog.Rekor{URL: f.rekorURL, Trusted: tr},
		Verify: check, Audit: al,
		SAN: id.SAN, Issuer: id.Issuer, CertSerial: cert.Chain[0].SerialNumber.Text(16),
	}
	if len(f.tsaURLs) > 0 {
		p.TSA = &tsa.Client{URLs: f.tsaURLs, Mode: tsa.All, Trusted: tr.TimestampingAuthorities(), HTTPClient: hc}
	}
	var failed []string
	var bundles, indexes []string
	var signed []sign.Result
	for _, s := range subjects {
		r := p.Sign(ctx, s)
		if r.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", s.Name, r.Err))
			continue
		}
		bundles = append(bundles, s.Bundle)
		signed = append(signed, r)
		indexes = append(indexes, strconv.FormatInt(r.LogIndex, 10))
		fmt.Fprintf(e.stderr, "signed %s -> %s (log index %d)\n", s.Name, s.Bundle, r.LogIndex)
	}

	// 5. Outputs.
	verifyCmd := fmt.Sprintf("cosign verify-blob --bundle %s --certificate-identity %s --certificate-oidc-issuer %s %s",
		shellQuote(firstOr(bundles, "ARTIFACT.sigstore.json")), shellQuote(id.SAN), shellQuote(id.Issuer), shellQuote(firstOr(paths, "ARTIFACT")))
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "bundle-paths", strings.Join(bundles, "\n"), "certificate-identity", id.SAN,
			"certificate-oidc-issuer", id.Issuer, "log-index", strings.Join(indexes, "\n"), "verify-command", verifyCmd); err != nil {
			return err
		}
	}
	if e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(signSummary(signed, failed, id.SAN, id.Issuer, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "certificate identity: %s\nissuer: %s\nverify with: %s\n", id.SAN, id.Issuer, verifyCmd)
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d artifacts not signed (the others' bundles are valid):\n  %s",
			len(failed), len(subjects), strings.Join(failed, "\n  "))
	}
	return nil
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
	taken := map[string]string{}
	var out []sign.Subject
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, usagef("artifact %s: %v", p, errors.Unwrap(err))
		}
		if !st.Mode().IsRegular() {
			return nil, usagef("artifact %s is not a regular file", p)
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

func loadToken(ctx context.Context, flagVal string, e *env) (string, error) {
	if flagVal != "" {
		if path, ok := strings.CutPrefix(flagVal, "@"); ok {
			b, err := os.ReadFile(path)
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
