package main

import (
	"errors"

	"github.com/cachet-sign/cachet/internal/regfile"
	"github.com/cachet-sign/cachet/oci"
	"github.com/cachet-sign/cachet/sign"
)

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

// firstOr is s's first element, else "".
func firstOr(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}
