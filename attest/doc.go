// Package attest makes in-toto attestations: a Statement v1 over subjects (a name and a
// SHA-256 digest each) with a predicate, SLSA build provenance v1 derived from a GitHub
// job's verified OIDC claims, and the DSSE envelope that signs the statement (PAE over
// payload type and payload, DSSE v1).
//
// It refuses a statement without subjects, a subject without a SHA-256 digest, a
// predicate that is not a JSON object, and a predicate type it does not know unless the
// caller allows unknown types. Predicates are carried byte for byte (compacted): they are
// never round-tripped through float64, so an SBOM's large integers survive.
package attest
