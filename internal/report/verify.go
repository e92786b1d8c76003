package report

import (
	"fmt"
	"io"
	"time"

	"github.com/cachet-sign/cachet/verify"
)

// Verification is the JSON report of cachet verify (--report, --output json).
type Verification struct {
	Verified int             `json:"verified"`
	Failed   int             `json:"failed"`
	Results  []verify.Result `json:"results"`
	Policy   *verify.Policy  `json:"policy"`
}

// NewVerification counts results into the report of a run under p.
func NewVerification(results []verify.Result, p *verify.Policy) Verification {
	v := Verification{Results: results, Policy: p}
	v.Verified, v.Failed = Count(results)
	return v
}

// Count says how many results verified and how many did not.
func Count(results []verify.Result) (verified, failed int) {
	for _, r := range results {
		if r.Verified {
			verified++
		} else {
			failed++
		}
	}
	return verified, failed
}

// Describe is one verified result in words: the name, what kind of bundle, who signed
// it and when, and whether the SCT was left unchecked.
func Describe(r verify.Result) string {
	s := r.Name
	if r.PredicateType != "" {
		s += " (attestation " + r.PredicateType + ")"
	}
	if r.Identity != "" {
		s += " signed by " + r.Identity
	}
	if !r.SignedAt.IsZero() {
		s += " at " + r.SignedAt.Format(time.RFC3339)
	}
	if r.SCTUnchecked {
		s += " (SCT not checked: insecure-ignore-sct)"
	}
	return s
}

// WriteText writes cachet verify's text output: OK or FAIL per result, then the counts.
func WriteText(w io.Writer, results []verify.Result) {
	for _, r := range results {
		if r.Verified {
			fmt.Fprintf(w, "OK    %s\n", Describe(r))
		} else {
			fmt.Fprintf(w, "FAIL  %s: %s\n", r.Name, r.Error)
		}
	}
	verified, failed := Count(results)
	fmt.Fprintf(w, "%d verified, %d failed\n", verified, failed)
}
