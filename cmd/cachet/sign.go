package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cachet-sign/cachet/internal/progress"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/sign"
)

func cmdSign(ctx context.Context, args []string, e *env) error {
	var f signFlags
	fs := flag.NewFlagSet("cachet sign", flag.ContinueOnError)
	f.register(fs, true)
	f.registerSigningConfig(fs)
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if err := f.checkRun(); err != nil {
		return err
	}
	if err := applySigningConfig(fs, &f, e); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// 1. Inputs, all checked before any network call.
	paths, err := expandArtifacts(append(append([]string{}, f.artifacts...), fs.Args()...), true, e.stderr)
	if err != nil {
		return err
	}
	pl := sign.Plan{Bundle: f.bundle, OutputDir: f.outputDir, ChecksumsPath: f.checksums}
	if pl.Paths, err = sign.ExpandDirs(paths); err != nil {
		return usagef("%v", err)
	}
	if f.checksums != "" {
		if pl.Checksums, err = readChecksums(f.checksums); err != nil {
			return err
		}
	}
	if pl.Digests, err = digestsHint(f.subjectDigests); err != nil {
		return err
	}
	subjects, err := planHint(pl)
	if err != nil {
		return err
	}
	tr, err := signingTrustedRoot(e, &f) // --trusted-root, a trust export as --signing-config, or the trust cache
	if err != nil {
		return err
	}

	// 2-3. Token, identity, and a certificate (keyless) or the key the policy allows.
	sg, done, err := newSigner(ctx, e, &f, tr)
	if err != nil {
		return err
	}
	defer done()

	// 4. One pipeline, one certificate or key, every artifact, f.parallel at a time.
	rep := runSubjects(ctx, e, sg.Pipeline, subjects, &f, sg.IsRefusal)

	// 5. Outputs.
	who, check, err := report.SignerOf(sg, f.tenant, f.setup.TrustedRoot, f.tlogUpload)
	if err != nil {
		return err
	}
	r := report.Signing{Report: rep, Signer: who, Check: check}
	return r.Publish(e.stdout, e.outputs(f.showSummary || sg.Key != nil)) // key mode has always written its summary
}

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

// planHint is pl.Subjects with the flag a refusal is about.
func planHint(pl sign.Plan) ([]sign.Subject, error) {
	if pl.Bundle != "" && pl.Len() > 1 {
		return nil, usagef("--bundle names one bundle but %d artifacts were given; use --output-dir", pl.Len())
	}
	subjects, err := pl.Subjects()
	var pe *sign.PlanError
	switch {
	case errors.Is(err, sign.ErrNothingToSign):
		return nil, usagef("no artifact to sign: give paths, globs, directories, --checksums FILE or --subject-digest sha256:HEX (cachet sign [flags] ARTIFACT...)")
	case errors.As(err, &pe) && planFlags[pe.What] != "":
		return nil, usagef("%s%s", planFlags[pe.What], pe.Detail)
	case err != nil:
		return nil, usagef("%v", err)
	}
	return subjects, nil
}

// planFlags name, for a sign.PlanError, the flag that gave the input.
var planFlags = map[string]string{"bundle path": "--bundle", "output directory": "--output-dir",
	"checksums": "--checksums", "checksums entry": "--checksums entry"}

// readChecksums is sign.ReadChecksumsFile with the flag named.
func readChecksums(path string) ([]sign.Checksum, error) {
	sums, err := sign.ReadChecksumsFile(path)
	var ce *sign.ChecksumsFileError
	switch {
	case errors.As(err, &ce):
		return nil, usagef("--checksums %v", err)
	case err != nil:
		return nil, usagef("--checksums: %v", err)
	}
	return sums, nil
}
