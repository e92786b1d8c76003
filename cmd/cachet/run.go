package main

import (
	"context"
	"fmt"

	"github.com/cachet-sign/cachet/internal/progress"
	"github.com/cachet-sign/cachet/sign"
)

// runSubjects signs subjects f.parallel at a time, reports each on stderr as it
// finishes and shows progress. isRefusal sorts refusals from failures (key mode).
func runSubjects(ctx context.Context, e *env, p *sign.Pipeline, subjects []sign.Subject, f *signFlags, isRefusal func(error) bool) *sign.Report {
	pr := progress.New(e.stderr, f.progress, len(subjects))
	defer pr.Stop()
	outs := p.SignAll(ctx, subjects, sign.RunOptions{Parallel: f.parallel, Resume: f.resume, OnOutcome: func(o sign.Outcome) {
		pr.Add(o.Err != nil, o.Kept, p.Describe(o))
	}})
	rep := sign.NewReport(outs, isRefusal)
	pr.Stop()
	fmt.Fprintln(e.stderr, rep.Counts())
	return rep
}
