package verify

import (
	"crypto"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/cachet-sign/cachet/internal/strictdoc"
)

// ErrPolicy means a policy is unusable as written; it is never "allow everything".
var ErrPolicy = errors.New("policy")

// Policy is what a verified artifact must satisfy. Its zero value accepts nothing: a
// policy needs a certificate identity (exact or anchored regexp) and an issuer, or a
// public key. GitHub facts come from the certificate's Fulcio extensions.
type Policy struct {
	// Certificate identity (SAN): exact, or a regular expression anchored with ^...$.
	Identity       string `json:"certificate-identity,omitempty"`
	IdentityRegexp string `json:"certificate-identity-regexp,omitempty"`
	// OIDC issuer: exact, or an anchored regular expression.
	Issuer       string `json:"certificate-oidc-issuer,omitempty"`
	IssuerRegexp string `json:"certificate-oidc-issuer-regexp,omitempty"`

	Repository      string `json:"repository,omitempty"`    // owner/name, or the source repository URI
	RepositoryID    string `json:"repository-id,omitempty"` // numeric, survives renames
	Ref             string `json:"ref,omitempty"`           // source repository ref, e.g. refs/tags/v1.2.3
	Workflow        string `json:"workflow,omitempty"`      // build signer URI, or owner/repo/.github/workflows/x.yml[@ref]
	Event           string `json:"event,omitempty"`         // build trigger
	SourceDigest    string `json:"source-digest,omitempty"` // commit the build came from
	AllowSelfHosted bool   `json:"allow-self-hosted,omitempty"`
	// AllowUnrecordedRunner accepts a certificate that records no runner environment
	// (Fulcio extension 1.3.6.1.4.1.57264.1.11: certificates from before Fulcio wrote it,
	// or from a CA that does not), as cosign verify-blob does; one that records a
	// self-hosted runner is still refused unless AllowSelfHosted. AsVerifyBlob sets it
	// (verify-bundle); a policy file cannot.
	AllowUnrecordedRunner bool `json:"-"`

	// Key-based bundles: the public key (PEM) that must have signed. Excludes identity.
	KeyPEM string           `json:"key,omitempty"`
	Key    crypto.PublicKey `json:"-"`

	// MinTimestamps is how many valid RFC 3161 timestamps from trusted TSAs are required.
	MinTimestamps int `json:"min-timestamps,omitempty"`
	// SkipTlog accepts bundles without a transparency-log entry (key mode with a TSA).
	SkipTlog bool `json:"skip-tlog,omitempty"`
	// InsecureIgnoreSCT accepts a Fulcio certificate without a valid SCT from a CT log
	// the trusted root lists (cosign's --insecure-ignore-sct). Without it, every
	// certificate needs one, as on the public-good instance; results say when it was not
	// checked.
	InsecureIgnoreSCT bool `json:"insecure-ignore-sct,omitempty"`

	// Attestations (DSSE bundles): the predicate type required (a URI or a cosign short
	// name such as slsaprovenance1); an attestation bundle is refused without it.
	// AnyPredicateType ("any") accepts signatures and attestations of every type. For SLSA
	// provenance, BuilderID (exact) or else Workflow must name the builder, and
	// Repository the source; when they are empty the provenance must name the workflow
	// and repository of the certificate that signed it.
	PredicateType string `json:"type,omitempty"`
	BuilderID     string `json:"builder-id,omitempty"`

	// ServerURL is the GitHub server for owner/name forms; https://github.com when empty.
	ServerURL string `json:"github-server-url,omitempty"`
}

// ParsePolicy reads a policy file, YAML or JSON, with the flag names as keys. Unknown,
// duplicated and case-variant keys are errors: a misspelt or repeated rule must not
// silently allow more (encoding/json alone keeps the last duplicate and reads REF as ref).
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := strictdoc.Decode(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return &p, p.Validate()
}

// anchored reports whether re matches only whole strings: every match must begin at
// the start of the text and end at its end, on every top-level alternative, so
// "^https://github.com/org/" cannot be satisfied by "https://evil/?https://github.com/org/"
// and "^a$|.*" is refused. It reads the parsed expression, not the text: ^ and $ in
// multi-line mode ((?m)) match at line breaks and do not anchor.
func anchored(re string) bool {
	r, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return false
	}
	r = r.Simplify()
	return anchoredAt(r, syntax.OpBeginText) && anchoredAt(r, syntax.OpEndText)
}

// anchoredAt reports whether every match of r is preceded (OpBeginText) or followed
// (OpEndText) by the empty-width assertion op. Conservative: any other shape is not.
func anchoredAt(r *syntax.Regexp, op syntax.Op) bool {
	switch r.Op {
	case op:
		return true
	case syntax.OpCapture:
		return anchoredAt(r.Sub[0], op)
	case syntax.OpConcat:
		if len(r.Sub) == 0 {
			return false
		}
		if op == syntax.OpBeginText {
			return anchoredAt(r.Sub[0], op)
		}
		return anchoredAt(r.Sub[len(r.Sub)-1], op)
	case syntax.OpAlternate:
		for _, s := range r.Sub {
			if !anchoredAt(s, op) {
				return false
			}
		}
		return len(r.Sub) > 0
	}
	return false
}

// AsVerifyBlob makes p judge one artifact and bundle as cosign verify-blob does (cachet
// verify-bundle, the conformance protocol): a DSSE bundle verifies when the artifact is
// one of its statement's subjects, whatever the predicate type, unless p names one; and
// a certificate that does not say where it was made (no runner environment extension)
// is judged by identity and issuer alone, while one that says self-hosted is still
// refused without AllowSelfHosted.
func (p *Policy) AsVerifyBlob() {
	if p.PredicateType == "" {
		p.PredicateType = AnyPredicateType
	}
	p.AllowUnrecordedRunner = true
}

// Validate refuses policies that would accept too much.
func (p *Policy) Validate() error {
	hasKey := p.KeyPEM != "" || p.Key != nil
	if hasKey {
		if p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
			return fmt.Errorf("%w: a key policy takes no certificate identity or issuer", ErrPolicy)
		}
		return nil
	}
	if (p.Identity == "") == (p.IdentityRegexp == "") {
		return fmt.Errorf("%w: give exactly one of certificate-identity or certificate-identity-regexp (or a key)", ErrPolicy)
	}
	if (p.Issuer == "") == (p.IssuerRegexp == "") {
		return fmt.Errorf("%w: give exactly one of certificate-oidc-issuer or certificate-oidc-issuer-regexp", ErrPolicy)
	}
	for name, re := range map[string]string{"certificate-identity-regexp": p.IdentityRegexp, "certificate-oidc-issuer-regexp": p.IssuerRegexp} {
		if re == "" {
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPolicy, name, err)
		}
		if !anchored(re) {
			return fmt.Errorf("%w: %s %q is not anchored at both ends on every alternative: write it as ^(?:%s)$", ErrPolicy, name, re, re)
		}
	}
	if p.RepositoryID != "" && strings.Trim(p.RepositoryID, "0123456789") != "" {
		return fmt.Errorf("%w: repository-id %q is not a number", ErrPolicy, p.RepositoryID)
	}
	if p.PredicateType != "" && p.PredicateType != AnyPredicateType {
		if _, err := PredicateTypeURI(p.PredicateType); err != nil {
			return err
		}
	}
	if p.MinTimestamps < 0 {
		return fmt.Errorf("%w: min-timestamps is negative", ErrPolicy)
	}
	return nil
}

func (p *Policy) serverURL() string {
	if p.ServerURL != "" {
		return strings.TrimSuffix(p.ServerURL, "/")
	}
	return "https://github.com"
}

// Override sets in p each rule of q whose policy key (the JSON key: certificate-identity,
// ref, min-timestamps, ...) given reports as named: a command line over a policy file.
// Fields without a key (the parsed Key, AllowUnrecordedRunner) are left alone.
func (p *Policy) Override(q *Policy, given func(key string) bool) {
	pv, qv := reflect.ValueOf(p).Elem(), reflect.ValueOf(q).Elem()
	t := pv.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if key != "" && key != "-" && given(key) {
			pv.Field(i).Set(qv.Field(i))
		}
	}
}
