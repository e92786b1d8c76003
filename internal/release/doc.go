// Package release signs a GitHub release's assets: it lists them (every page), streams
// each to a temporary directory while hashing it, keeps a bundle asset already beside an
// asset when it verifies for this identity and the asset's digest, signs the rest in one
// run, and uploads <asset>.sigstore.json beside each (with Replace, deleting the old one
// first). Nothing else on the release is touched. Publish puts local files on the
// release first, creating it for an existing tag.
//
// It refuses to keep a bundle asset that does not verify, or one larger than any bundle,
// and to sign an asset whose name holds a control character: the name reaches the
// log and the step outputs. Signing and checking are the caller's (a sign.Pipeline), so
// the flow is tested against internal/fakegithubapi without a Sigstore stack.
package release
