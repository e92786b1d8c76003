package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/internal/report"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/sign"
)

// keyAttestOutputs reports a key-mode attestation: key id instead of an identity.
func keyAttestOutputs(e *env, f *attestFlags, keyID string, check report.Check, attDigest, attID string, logIndex int64) error {
	verifyCmd := check.Command()
	if e.getenv("GITHUB_OUTPUT") != "" {
		if err := report.SetOutputs(e.action(), "bundle-path", check.Bundle, "attestation-digest", attDigest, "key-id", keyID,
			"log-index", strconv.FormatInt(logIndex, 10), "verify-command", verifyCmd, "attestation-id", attID); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "key id: %s\ntenant: %s\nattestation digest: %s\n", keyID, f.tenant, attDigest)
	if attID != "" {
		fmt.Fprintf(e.stdout, "github attestation id: %s\n", attID)
	}
	fmt.Fprintf(e.stdout, "verify with: %s\n", verifyCmd)
	return nil
}

// attestPlanHint names the flag a sign.PlanError is about.
func attestPlanHint(err error) error {
	var pe *sign.PlanError
	if errors.As(err, &pe) {
		flag := map[string]string{"checksums entry": "--subject-checksums entry", "subject name": "--subject-name", "bundle path": "--bundle"}[pe.What]
		if flag != "" {
			return usagef("%s%s", flag, pe.Detail)
		}
	}
	return usagef("%v", err)
}

// imageHint names the flags an AttestPlan.ImageSubject refusal is about.
func imageHint(err error, name string) error {
	switch {
	case errors.Is(err, sign.ErrOneImage):
		return usagef("--push-to-registry attests one image: give --subject-name REGISTRY/REPO[:TAG] (and --subject-digest sha256:HEX), no subject-path")
	case errors.Is(err, sign.ErrNoImage):
		return usagef("--push-to-registry needs --subject-name: the image (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX)")
	case errors.Is(err, oci.ErrNotRepository):
		return usagef("--subject-name %q with --subject-digest: %v", name, err)
	case errors.Is(err, oci.ErrNotFound):
		return usagef("%v", err)
	}
	return err
}

// digestsHint is sign.ParseDigests with the flag named.
func digestsHint(args []string) ([][]byte, error) {
	ds, err := sign.ParseDigests(args)
	var de *sign.DigestError
	if errors.As(err, &de) {
		return nil, usagef("--subject-digest %q: %v", de.Arg, err)
	}
	return ds, err
}

func readPredicate(path string) ([]byte, error) {
	b, err := regfile.ReadFile(path, maxPredicateSize)
	if err != nil {
		return nil, usagef("--predicate-path: %v", err)
	}
	return b, nil
}
