package report

import (
	"fmt"
	"strings"
)

// Check is a bundle to check with cosign, as a command prints it after signing.
type Check struct {
	// Bundle is the bundle file (default ARTIFACT.sigstore.json) and Artifact what it
	// signs (default ARTIFACT).
	Bundle, Artifact string
	// Image, when set, is the image the bundle is attached to as an OCI referrer
	// (attest --push-to-registry, keyless): cosign verify-attestation checks it there.
	Image string
	// PredicateType is an attestation's predicate type; empty for a signature.
	PredicateType string
	// Identity and Issuer are a keyless certificate's SAN and OIDC issuer.
	Identity, Issuer string
	// Key is key mode: the verifier needs the public key and the trusted root (for the
	// timestamps); TLog says the signature is also in Rekor.
	Key         bool
	TrustedRoot string
	TLog        bool
}

// Command is the cosign command line that checks c, its arguments shell-quoted.
func (c Check) Command() string {
	bundle, artifact := c.Bundle, c.Artifact
	if bundle == "" {
		bundle = "ARTIFACT.sigstore.json"
	}
	if artifact == "" {
		artifact = "ARTIFACT"
	}
	typ := ""
	if c.PredicateType != "" {
		typ = " --type " + ShellQuote(c.PredicateType)
	}
	if c.Key {
		sub := "verify-blob"
		if c.PredicateType != "" {
			sub = "verify-blob-attestation"
		}
		cmd := fmt.Sprintf("cosign %s --key KEY.pub --bundle %s%s --trusted-root %s", sub, ShellQuote(bundle), typ, ShellQuote(c.TrustedRoot))
		if !c.TLog {
			cmd += " --insecure-ignore-tlog"
		}
		return cmd + " " + ShellQuote(artifact)
	}
	id := fmt.Sprintf("--certificate-identity %s --certificate-oidc-issuer %s", ShellQuote(c.Identity), ShellQuote(c.Issuer))
	switch {
	case c.Image != "":
		return fmt.Sprintf("cosign verify-attestation --new-bundle-format%s %s %s", typ, id, ShellQuote(c.Image))
	case c.PredicateType != "":
		return fmt.Sprintf("cosign verify-blob-attestation --bundle %s%s %s %s", ShellQuote(bundle), typ, id, ShellQuote(artifact))
	}
	return fmt.Sprintf("cosign verify-blob --bundle %s %s %s", ShellQuote(bundle), id, ShellQuote(artifact))
}

// ShellQuote quotes s for a POSIX shell when it needs it: a word of plain characters
// stays as it is, anything else goes in single quotes.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
