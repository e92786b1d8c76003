// Package policy decides whether a GitHub job may sign a digest with a key for a
// tenant: MaySign(tenant, principal, key, digest). The principal comes from the job's
// verified OIDC token (keyless.Claims), never from inputs the workflow sets. The policy
// file lists, per tenant and key, rules naming principals and the conditions they sign
// under: protected refs, a GitHub environment (whose required reviewers then gate
// signing), events, runner environments, digest allow and deny lists, and a number of
// approvals recorded out of band.
//
// It denies by default: an unknown tenant, key or principal is refused, the first
// failing condition is the reason, and a policy with an unknown key or a rule that
// would allow any ref does not parse.
//
// It reads a policy only from Dir (built in, /etc/cachet by default) and only when root
// alone could have written it and every directory above it (Load): the job asking to
// sign controls its inputs, environment and files, so none of them may choose or write
// the policy that judges it.
package policy
