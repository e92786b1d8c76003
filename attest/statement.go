package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// StatementType is the in-toto Statement v1 type URI.
const StatementType = intoto.StatementTypeUri

// Predicate types cachet knows by name. The short names are cosign's (--type).
const (
	SLSAProvenanceV1 = "https://slsa.dev/provenance/v1"
	SPDX             = "https://spdx.dev/Document"
	CycloneDX        = "https://cyclonedx.org/bom"
)

// PredicateTypes maps cosign's --type names to predicate type URIs (cosign's
// options/predicate.go): the one table attest (what may be made) and verify (what may
// be asked for) both read.
var PredicateTypes = map[string]string{
	"slsaprovenance1":  SLSAProvenanceV1,
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"spdx":             SPDX,
	"spdxjson":         SPDX,
	"cyclonedx":        CycloneDX,
	"link":             "https://in-toto.io/Link/v1",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
}

// ErrNotPredicateType: neither a name PredicateTypes knows nor a URI.
var ErrNotPredicateType = errors.New("neither a known predicate type name nor a URI")

// PredicateTypeURI resolves a cosign short name (slsaprovenance1, spdx, cyclonedx, ...)
// or returns a URI unchanged.
func PredicateTypeURI(nameOrURI string) (string, error) {
	if u, ok := PredicateTypes[strings.ToLower(nameOrURI)]; ok {
		return u, nil
	}
	if !strings.Contains(nameOrURI, "://") {
		return "", fmt.Errorf("predicate type %q: %w", nameOrURI, ErrNotPredicateType)
	}
	return nameOrURI, nil
}

// known are the predicate types accepted without AllowUnknown.
var known = map[string]bool{SLSAProvenanceV1: true, SPDX: true, CycloneDX: true}

// ErrUnknownPredicateType means a predicate type is neither a known name nor a known URI.
var ErrUnknownPredicateType = errors.New("unknown predicate type")

// PredicateType resolves a short name (slsaprovenance1, spdx, spdxjson, cyclonedx) or a
// URI. Any other URI is refused unless allowUnknown: a typo must not produce an
// attestation no verifier will ever ask for.
func PredicateType(nameOrURI string, allowUnknown bool) (string, error) {
	uri, err := PredicateTypeURI(nameOrURI)
	if err != nil {
		return "", fmt.Errorf("%w %q: use slsaprovenance1, spdx, cyclonedx or a URI", ErrUnknownPredicateType, nameOrURI)
	}
	if known[uri] {
		return uri, nil
	}
	if !allowUnknown {
		return "", fmt.Errorf("%w %q: known are %s, %s, %s; allow others explicitly", ErrUnknownPredicateType, nameOrURI, SLSAProvenanceV1, SPDX, CycloneDX)
	}
	return uri, nil
}

// Subject is one thing a statement is about.
type Subject struct {
	Name   string // file name, or image repository for an image
	Digest []byte // SHA-256
}

// statement is the JSON shape of an in-toto Statement v1 with the predicate kept as raw
// bytes (in-toto's Go type holds it as a protobuf Struct, which would turn numbers into
// float64). Statement validates what it makes with in-toto's own types.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement encodes an in-toto Statement v1 over subjects with the given predicate (a
// JSON object) and validates it with in-toto's types.
func Statement(subjects []Subject, predicateType string, predicate []byte) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, errors.New("attest: a statement needs at least one subject")
	}
	if predicateType == "" {
		return nil, errors.New("attest: no predicate type")
	}
	var pred bytes.Buffer
	if err := json.Compact(&pred, predicate); err != nil {
		return nil, fmt.Errorf("attest: predicate is not valid JSON: %w", err)
	}
	if pred.Len() == 0 || pred.Bytes()[0] != '{' {
		return nil, errors.New("attest: the predicate must be a JSON object")
	}
	st := statement{Type: StatementType, PredicateType: predicateType, Predicate: pred.Bytes()}
	seen := make(map[string]bool, len(subjects))
	for _, s := range subjects {
		if len(s.Digest) != sha256.Size {
			return nil, fmt.Errorf("attest: subject %q: digest is %d bytes, want SHA-256", s.Name, len(s.Digest))
		}
		h := hex.EncodeToString(s.Digest)
		key := s.Name + "\x00" + h
		if seen[key] {
			continue
		}
		seen[key] = true
		st.Subject = append(st.Subject, subjectJSON{Name: s.Name, Digest: map[string]string{"sha256": h}})
	}
	out, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("attest: encode statement: %w", err)
	}
	if _, err := ParseStatement(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseStatement decodes and validates an in-toto Statement v1.
func ParseStatement(data []byte) (*intoto.Statement, error) {
	var s intoto.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("attest: not an in-toto statement: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("attest: invalid in-toto statement: %w", err)
	}
	return &s, nil
}
