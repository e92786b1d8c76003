package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"

	"github.com/cachet-sign/cachet/verify"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"sigs.k8s.io/yaml"
)

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
	b, err := verify.LoadBundle(bundlePath)
	if err != nil {
		return usagef("%v", err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return usagef("%s: %v", bundlePath, err)
	}
	cert := vc.Certificate()
	if cert == nil {
		return usagef("%s is a key-based bundle: verify it with --key", bundlePath)
	}
	p, err := policyFor(cert, anyRef)
	if err != nil {
		return err
	}
	y, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	id := "--certificate-identity " + shellQuote(p.Identity)
	if p.IdentityRegexp != "" {
		id = "--certificate-identity-regexp " + shellQuote(p.IdentityRegexp)
	}
	tufURL, path, err := tf.names(e)
	if err != nil {
		return err
	}
	trustArgs, cosignInit := "", ""
	if tufURL != "" {
		trustArgs = " --tuf-url " + shellQuote(tufURL)
		cosignInit = "cosign initialize --mirror " + shellQuote(tufURL)
		if path != "" {
			trustArgs += " --tuf-root " + shellQuote(path)
			cosignInit += " --root " + shellQuote(path)
		}
		cosignInit += "   # once: trust that TUF repository\n"
	}
	fmt.Fprintf(e.stdout, "# policy (cachet verify --policy FILE)\n%s\n", y)
	fmt.Fprintf(e.stdout, "# cachet (trusted root from the TUF repository; --trusted-root FILE offline)\ncachet verify%s %s --certificate-oidc-issuer %s --repository-id %s ARTIFACT...\n\n",
		trustArgs, id, shellQuote(p.Issuer), p.RepositoryID)
	fmt.Fprintf(e.stdout, "# cosign\n%scosign verify-blob --bundle ARTIFACT.sigstore.json %s --certificate-oidc-issuer %s --certificate-github-workflow-repository-id %s ARTIFACT\n",
		cosignInit, id, shellQuote(p.Issuer), p.RepositoryID)
	return nil
}

func policyFor(cert *x509.Certificate, anyRef bool) (*verify.Policy, error) {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if s.SubjectAlternativeName == "" || s.Extensions.Issuer == "" {
		return nil, errors.New("the certificate names no identity or issuer")
	}
	p := &verify.Policy{Issuer: s.Extensions.Issuer, Identity: s.SubjectAlternativeName,
		RepositoryID: s.Extensions.SourceRepositoryIdentifier, Repository: s.Extensions.SourceRepositoryURI}
	if anyRef {
		path, _, ok := strings.Cut(s.SubjectAlternativeName, "@")
		if ok {
			p.Identity = ""
			p.IdentityRegexp = "^" + regexp.QuoteMeta(path) + "@refs/(heads|tags)/[^/]+$"
		}
	}
	return p, p.Validate()
}
