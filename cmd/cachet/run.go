package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cachet-sign/cachet/internal/progress"
	"github.com/cachet-sign/cachet/sign"
)

// runReport is what a run of many subjects did, ready for outputs and the exit code.
type runReport struct {
	signed           []sign.Result // signed now or kept
	bundles, indexes []string
	artifacts        []string
	failed, refused  []string
	nSigned, nKept   int
}

// err is the run's error: which subjects failed, each with its reason.
func (r *runReport) err(total int) error {
	if len(r.refused) > 0 {
		return sign.Refuse(fmt.Errorf("%d of %d artifacts refused by the signing policy (the others' bundles are valid):\n  %s",
			len(r.refused), total, strings.Join(append(append([]string{}, r.refused...), r.failed...), "\n  ")))
	}
	if len(r.failed) > 0 {
		return fmt.Errorf("%d of %d artifacts not signed (the others' bundles are valid):\n  %s",
			len(r.failed), total, strings.Join(r.failed, "\n  "))
	}
	return nil
}

// runSubjects signs subjects f.parallel at a time, reports each on stderr as it
// finishes and shows progress. isRefusal sorts refusals from failures (key mode).
func runSubjects(ctx context.Context, e *env, p *sign.Pipeline, subjects []sign.Subject, f *signFlags, isRefusal func(error) bool) *runReport {
	pr := progress.New(e.stderr, f.progress, len(subjects))
	defer pr.Stop()
	rep := &runReport{}
	outs := p.SignAll(ctx, subjects, sign.RunOptions{Parallel: f.parallel, Resume: f.resume, OnOutcome: func(o sign.Outcome) {
		var line string
		switch {
		case o.Err != nil:
			line = fmt.Sprintf("not signed %s: %v", o.Subject.Name, o.Err)
		case o.Kept:
			line = fmt.Sprintf("kept %s: %s verifies (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
		default:
			if o.Replaced != "" {
				line = fmt.Sprintf("replaced %s: %s\n", o.Subject.Bundle, o.Replaced)
			}
			if p.Certificate != nil {
				line += fmt.Sprintf("signed %s -> %s (log index %d)", o.Subject.Name, o.Subject.Bundle, o.LogIndex)
			} else {
				line += fmt.Sprintf("signed %s -> %s (key %s)", o.Subject.Name, o.Subject.Bundle, p.KeyHint)
			}
		}
		pr.Add(o.Err != nil, o.Kept, line)
	}})
	for _, o := range outs {
		switch {
		case o.Err != nil && isRefusal != nil && isRefusal(o.Err):
			rep.refused = append(rep.refused, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Err != nil:
			rep.failed = append(rep.failed, fmt.Sprintf("%s: %v", o.Subject.Name, o.Err))
			continue
		case o.Kept:
			rep.nKept++
		default:
			rep.nSigned++
		}
		rep.bundles = append(rep.bundles, o.Subject.Bundle)
		rep.signed = append(rep.signed, o.Result)
		rep.indexes = append(rep.indexes, strconv.FormatInt(o.LogIndex, 10))
		if o.Subject.Path != "" {
			rep.artifacts = append(rep.artifacts, o.Subject.Path)
		}
	}
	pr.Stop()
	fmt.Fprintf(e.stderr, "%d signed, %d kept, %d failed of %d\n", rep.nSigned, rep.nKept, len(rep.failed)+len(rep.refused), len(subjects))
	return rep
}
