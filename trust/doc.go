// Package trust holds what a signer or verifier trusts and where it signs: the
// Sigstore trusted root (keys and chains of Fulcio, Rekor, CT logs and TSAs) and the
// signing config v0.2 (which Fulcio, Rekor and TSAs to use, when, and how many).
//
// Select turns a signing config into the service URLs cachet speaks to, honouring each
// service's validFor window, majorApiVersion and the Rekor and TSA selectors (ANY,
// ALL, EXACT n). It refuses a config it cannot follow instead of guessing: one that
// selects only Rekor v2 logs (cachet writes Rekor v1 entries), one that selects more
// than one Rekor log, or one with no valid service left.
//
// An Envelope carries a trusted root and a signing config as one file for air-gapped
// machines (media type application/vnd.cachet.trust.v1+json). Its digests catch a
// truncated or edited copy; they are not a signature: authenticity comes from how the
// file travelled, or from a TUF repository (Refresh).
//
// Refresh runs a TUF update against a repository (by default the public-good one, with
// the TUF root sigstore-go embeds) and writes the trusted root and signing config into
// the trust cache (DefaultDir). Resolve picks the trusted root a command uses: a file
// named explicitly, else the cache (stale after StaleAfter, which Notice says), else,
// only where the caller allows it, the public-good snapshot of package publicgood.
package trust
