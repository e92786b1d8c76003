package sign

import (
	"fmt"
	"strconv"
	"strings"
)

// Report is what a run of many subjects did (SignAll's outcomes sorted), ready for
// outputs and the exit code.
type Report struct {
	Signed    []Result // signed now or kept, in the subjects' order
	Bundles   []string // their bundle paths
	Indexes   []string // their log indexes, in decimal
	Artifacts []string // their artifact paths (subjects signed by digest have none)
	// Failed and Refused are "NAME: reason" lines of the subjects not signed.
	Failed, Refused []string
	NSigned, NKept  int
	Total           int
}

// NewReport sorts outs; isRefusal, when set, tells refusals (key mode: the signing
// policy said no) from failures.
func NewReport(outs []Outcome, isRefusal func(error) bool) *Report {
	r := &Report{Total: len(outs)}
	for _, o := range outs {
		switch {
		case o.Err != nil && isRefusal != nil && isRefusal(o.Err):
			r.Refused = append(r.Refused, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Err != nil:
			r.Failed = append(r.Failed, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Kept:
			r.NKept++
		default:
			r.NSigned++
		}
		r.Bundles = append(r.Bundles, o.Subject.Bundle)
		r.Signed = append(r.Signed, o.Result)
		r.Indexes = append(r.Indexes, strconv.FormatInt(o.LogIndex, 10))
		if o.Subject.Path != "" {
			r.Artifacts = append(r.Artifacts, o.Subject.Path)
		}
	}
	return r
}

// NotSigned is the refused subjects, then the failed ones.
func (r *Report) NotSigned() []string {
	return append(append([]string{}, r.Refused...), r.Failed...)
}

// Counts is the run in one line: "2 signed, 1 kept, 0 failed of 3".
func (r *Report) Counts() string {
	return fmt.Sprintf("%d signed, %d kept, %d failed of %d", r.NSigned, r.NKept, len(r.Failed)+len(r.Refused), r.Total)
}

// Err is the run's error, naming each subject not signed with its reason: a refusal
// (ErrRefused) when any was refused, else a failure when any failed, else nil.
func (r *Report) Err() error {
	if len(r.Refused) > 0 {
		return Refuse(fmt.Errorf("%d of %d artifacts refused by the signing policy (the others' bundles are valid):\n  %s",
			len(r.Refused), r.Total, strings.Join(r.NotSigned(), "\n  ")))
	}
	if len(r.Failed) > 0 {
		return fmt.Errorf("%d of %d artifacts not signed (the others' bundles are valid):\n  %s",
			len(r.Failed), r.Total, strings.Join(r.Failed, "\n  "))
	}
	return nil
}

// Describe is the log line of one outcome as it finishes: signed (with the log index,
// or the key in key mode), kept, replaced or not signed, and why.
func (p *Pipeline) Describe(o Outcome) string {
	switch {
	case o.Err != nil:
		return fmt.Sprintf("not signed %s: %v", o.Subject.Name, o.Err)
	case o.Kept:
		return fmt.Sprintf("kept %s: %s verifies (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
	}
	line := ""
	if o.Replaced != "" {
		line = fmt.Sprintf("replaced %s: %s\n", o.Subject.Bundle, o.Replaced)
	}
	if p.Certificate != nil {
		return line + fmt.Sprintf("signed %s -> %s (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
	}
	return line + fmt.Sprintf("signed %s -> %s (key %s)", o.Subject.Name, o.Subject.Bundle, p.KeyHint)
}
