package report

import (
	"fmt"
	"io"

	"github.com/cachet-sign/cachet/verify"
	"sigs.k8s.io/yaml"
)

// WritePolicy writes what cachet policy prints: p as YAML for `cachet verify --policy
// FILE`, then the cachet and cosign commands that check the same. tufURL and tufRoot
// name the TUF repository the verifier's trust comes from (both empty: the default,
// public-good); a cosign user initializes it once.
func WritePolicy(w io.Writer, p *verify.Policy, tufURL, tufRoot string) error {
	y, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	id := "--certificate-identity " + ShellQuote(p.Identity)
	if p.IdentityRegexp != "" {
		id = "--certificate-identity-regexp " + ShellQuote(p.IdentityRegexp)
	}
	trustArgs, cosignInit := "", ""
	if tufURL != "" {
		trustArgs = " --tuf-url " + ShellQuote(tufURL)
		cosignInit = "cosign initialize --mirror " + ShellQuote(tufURL)
		if tufRoot != "" {
			trustArgs += " --tuf-root " + ShellQuote(tufRoot)
			cosignInit += " --root " + ShellQuote(tufRoot)
		}
		cosignInit += "   # once: trust that TUF repository\n"
	}
	fmt.Fprintf(w, "# policy (cachet verify --policy FILE)\n%s\n", y)
	fmt.Fprintf(w, "# cachet (trusted root from the TUF repository; --trusted-root FILE offline)\ncachet verify%s %s --certificate-oidc-issuer %s --repository-id %s ARTIFACT...\n\n",
		trustArgs, id, ShellQuote(p.Issuer), p.RepositoryID)
	_, err = fmt.Fprintf(w, "# cosign\n%scosign verify-blob --bundle ARTIFACT.sigstore.json %s --certificate-oidc-issuer %s --certificate-github-workflow-repository-id %s ARTIFACT\n",
		cosignInit, id, ShellQuote(p.Issuer), p.RepositoryID)
	return err
}
