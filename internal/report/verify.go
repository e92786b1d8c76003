package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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

// VerifyOutputs say where a verification's report goes besides stdout.
type VerifyOutputs struct {
	JSON       bool   // stdout gets the JSON report; else WriteText's lines
	ReportPath string // the JSON report is written here too, when set
	// Action, when set (in Actions), gets an error annotation per failed result, the
	// step outputs verified, failed and report when StepOutputs, and the job summary
	// (VerifySummary) when StepSummary.
	Actions
}

// ReportFile is the JSON report's name in the runner's temporary directory.
const ReportFile = "cachet-verify-report.json"

// InRunner sets o for a run in GitHub Actions: a's annotations, step outputs and
// summary, and, unless ReportPath names a file, the JSON report in runnerTemp
// ($RUNNER_TEMP, when the runner gave one), so the report output always names one.
func (o *VerifyOutputs) InRunner(a Actions, runnerTemp string) {
	o.Actions = a
	if o.ReportPath == "" && runnerTemp != "" {
		o.ReportPath = filepath.Join(runnerTemp, ReportFile)
	}
}

// Publish writes v (the report of results) to stdout and where o says, and is an error
// naming how many failed when any did: a failure is the step's failure.
func (v Verification) Publish(stdout io.Writer, o VerifyOutputs) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if o.ReportPath != "" {
		if err := os.WriteFile(o.ReportPath, append(js, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if o.JSON {
		fmt.Fprintln(stdout, string(js))
	} else {
		WriteText(stdout, v.Results)
	}
	if a := o.Action; a != nil {
		for _, r := range v.Results {
			if !r.Verified {
				a.WithFieldsMap(map[string]string{"title": "cachet verify: " + string(r.Reason)}).Errorf("%s: %s", r.Name, r.Error)
			}
		}
		if err := o.setOutputs("verified", strconv.Itoa(v.Verified), "failed", strconv.Itoa(v.Failed), "report", o.ReportPath); err != nil {
			return err
		}
		o.addSummary(func() string { return VerifySummary(v.Results) })
	}
	if v.Failed > 0 {
		return fmt.Errorf("%d of %d artifacts failed verification", v.Failed, len(v.Results))
	}
	return nil
}
