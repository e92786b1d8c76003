package main

import (
	"errors"

	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/sign"
)

// attestPlanHint names the flags a sign.AttestPlan refusal is about; predType is the
// predicate type, when known.
func attestPlanHint(err error, predType string) error {
	var pe *sign.PlanError
	switch {
	case errors.Is(err, sign.ErrPredicateRequired):
		return usagef("--predicate-path is required for predicate type %s (only SLSA provenance is generated)", predType)
	case errors.Is(err, sign.ErrDigestNeedsName):
		return usagef("--subject-digest needs --subject-name")
	case errors.Is(err, sign.ErrNothingToAttest):
		return usagef("nothing to attest: give --subject-path, or --subject-name with --subject-digest")
	case errors.As(err, &pe) && pe.What == "predicate type":
		return usagef("--predicate-type%s (--allow-unknown-predicate accepts other URIs)", pe.Detail)
	case errors.As(err, &pe):
		flag := map[string]string{"checksums entry": "--subject-checksums entry", "subject name": "--subject-name",
			"bundle path": "--bundle", "predicate file": "--predicate-path"}[pe.What]
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

// firstOr is s's first element, else "".
func firstOr(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}
