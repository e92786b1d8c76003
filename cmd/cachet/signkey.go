package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// signWithKey is key mode: the same pipeline as keyless, with a key from an HSM (or a
// PEM file) instead of a Fulcio certificate, and the signing policy instead of Fulcio
// deciding who may sign. The job's identity still comes from its verified OIDC token.
func signWithKey(ctx context.Context, e *env, f *signFlags, subjects []sign.Subject, tr *root.TrustedRoot, al *audit.Logger) error {
	a := e.action()
	kp, err := keyPipeline(ctx, e, f, tr, al)
	if err != nil {
		return err
	}
	defer kp.Key.Close()
	p, k := kp.Pipeline, kp.Key
	rep := runSubjects(ctx, e, p, subjects, f, func(err error) bool { return errors.Is(err, policy.ErrRefused) })
	bundles, indexes, signed := rep.bundles, rep.indexes, rep.signed

	pubPEM, err := k.PublicPEM()
	if err != nil {
		return err
	}
	verifyCmd := fmt.Sprintf("cosign verify-blob --key KEY.pub --bundle %s --trusted-root %s", shellQuote(firstOr(bundles, "ARTIFACT.sigstore.json")), shellQuote(f.trustedRoot))
	if !f.tlogUpload {
		verifyCmd += " --insecure-ignore-tlog"
	}
	verifyCmd += " " + shellQuote(firstOr(rep.artifacts, "ARTIFACT"))
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := setOutputs(a, "bundle-paths", strings.Join(bundles, "\n"), "key-id", k.ID, "public-key", string(pubPEM),
			"log-index", strings.Join(indexes, "\n"), "verify-command", verifyCmd); err != nil {
			return err
		}
	}
	if e.getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(keySummary(signed, append(append([]string{}, rep.refused...), rep.failed...), f.tenant, k.ID, verifyCmd))
	}
	fmt.Fprintf(e.stdout, "key id: %s\ntenant: %s\nverify with: %s\n", k.ID, f.tenant, verifyCmd)
	return rep.err(len(subjects))
}

// keyPipeline sets up key mode for sign and attest (sign.NewKeyMode): the job's
// verified token for the principal, the policy (only a root-owned one in policy.Dir),
// the key (PIN masked); refusals are audited. Errors get their flag names here.
func keyPipeline(ctx context.Context, e *env, f *signFlags, tr *root.TrustedRoot, al *audit.Logger) (*sign.KeyMode, error) {
	opts := keys.Options{Getenv: e.getenv, Scheme: keys.Scheme(f.rsaScheme)}
	if e.inActions() {
		opts.Mask = e.action().AddMask
	}
	km, err := sign.NewKeyMode(ctx, sign.KeyModeOptions{
		Token:  func(ctx context.Context) (string, error) { return loadToken(ctx, f.identityToken, e) },
		Issuer: f.issuer, PolicyPath: f.policyFile, Tenant: f.tenant, Key: f.key, KeyOptions: opts,
		Services: f.services(), TLogUpload: f.tlogUpload, Trusted: tr, Audit: al,
	})
	switch {
	case errors.Is(err, sign.ErrKeyNeedsTimestamp):
		return nil, usagef("key mode needs --timestamp-server-url: a key bundle has no certificate, so only an RFC 3161 timestamp says when it was signed")
	case errors.Is(err, sign.ErrNoTenant):
		return nil, usagef("key mode needs --tenant NAME: the policy's tenant whose key signs")
	case errors.Is(err, sign.ErrPolicy):
		return nil, usagef("%v", err)
	case errors.Is(err, keys.ErrURI) || errors.Is(err, keys.ErrNoPKCS11) || errors.Is(err, keys.ErrPINSource):
		return nil, usagef("--%v", err)
	case errors.Is(err, sign.ErrKeyOpen):
		return nil, fmt.Errorf("--%w", err)
	}
	return km, err
}

func keySummary(signed []sign.Result, notSigned []string, tenant, keyID, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet sign (key mode): %d signed, %d not signed\n\nTenant `%s`, key `%s`\n\n", len(signed), len(notSigned), mdEscape(tenant), mdEscape(keyID))
	if len(signed) > 0 {
		b.WriteString("| artifact | sha256 | bundle |\n| --- | --- | --- |\n")
		for _, r := range signed {
			fmt.Fprintf(&b, "| `%s` | `%x` | `%s` |\n", mdEscape(r.Subject.Name), r.Digest, mdEscape(r.Subject.Bundle))
		}
	}
	for _, n := range notSigned {
		fmt.Fprintf(&b, "\n❌ %s\n", mdEscape(n))
	}
	fmt.Fprintf(&b, "\nVerify:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}
