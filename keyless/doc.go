// Package keyless turns a GitHub Actions job into a Sigstore signing identity: it fetches
// the job's OIDC token the way the runner offers it (or takes one given, Token), verifies
// the token locally against the issuer's discovery document and JWKS, derives the
// identity Fulcio will certify (SAN = the job workflow's URL, the issuer, and the GitHub
// claims behind the certificate extensions), checks the caller's expectations against the
// verified claims, and obtains a Fulcio certificate for an ephemeral key whose content it
// checks before use.
//
// It refuses rather than guesses: an unverifiable token, a claim that contradicts an
// expectation, a self-hosted runner that was not allowed, or a certificate that does not
// say exactly what was derived are all errors, and no signature is made. The token is a
// secret: it never appears in an error or a log line.
package keyless
