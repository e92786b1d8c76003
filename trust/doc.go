// Package trust holds what a signer or verifier trusts and where it signs: the
// Sigstore trusted root (keys and chains of Fulcio, Rekor, CT logs and TSAs) and the
// signing config v0.2 (which Fulcio, Rekor and TSAs to use, when, and how many).
//
// Select turns a signing config into the service URLs cachet speaks to, honouring each
// service's validFor window, majorApiVersion and the Rekor and TSA selectors (ANY,
// ALL, EXACT n) and picking the highest Rekor API version listed (v1: Rekor on
// Trillian; v2: rekor-tiles), as cosign v3 does. It refuses a config it cannot follow
// instead of guessing: one that selects more than one Rekor log, an API version cachet
// does not speak, or one with no valid service left.
//
// An Envelope carries a trusted root and a signing config as one file for air-gapped
// machines (media type application/vnd.cachet.trust.v1+json). Its digests catch a
// truncated or edited copy; they are not a signature: authenticity comes from how the
// file travelled, or from a TUF repository (Refresh).
//
// Load returns a TUF repository's trusted root and signing config (by default the
// public-good repository, trusted through the TUF root sigstore-go embeds): from the
// trust cache while its TUF metadata is valid (the timestamp role's expiry, as go-tuf
// checks it), else after a refresh through sigstore-go's TUF client. A refresh runs in
// a copy of the cache and replaces it only when everything verified: metadata that does
// not chain to the root, has expired or was rolled back is refused (ErrTUFRefused) and
// leaves nothing behind. Resolve picks the trusted root a command uses: a file named
// explicitly, else an imported cache (cachet trust import) unless a repository was
// named, else the repository; when it is unreachable, verification alone may go on
// with what it last served, else with the public-good snapshot of package publicgood.
// A Repository names the TUF repository explicitly, else through CACHET_TUF_URL and
// CACHET_TUF_ROOT, or the staging instance's; it refuses a root without the URL of the
// repository it signs.
package trust
