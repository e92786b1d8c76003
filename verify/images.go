package verify

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cachet-sign/cachet/oci"
)

// VerifyImages checks the Sigstore bundles attached to each image as OCI referrers. A
// tag is resolved to a digest first and only that digest's referrers count: a tag moved
// to another image does not carry the old image's attestations. An image passes when one
// of its bundles verifies (as cosign verify does); otherwise its result carries the
// reasons of all.
func VerifyImages(ctx context.Context, v *Verifier, refs []string, reg *oci.Client) []Result {
	var out []Result
	for _, ref := range refs {
		r := Result{Name: ref, Bundle: "oci-referrers"}
		img, err := reg.Resolve(ctx, ref)
		if err != nil {
			r.Reason, r.Error = ReasonArtifact, err.Error()
			out = append(out, r)
			continue
		}
		r.Digest = img.Descriptor.Digest.String()
		d, _ := hex.DecodeString(img.Descriptor.Digest.Hex)
		refs, err := reg.Bundles(ctx, img)
		if err != nil {
			r.Reason, r.Error = ReasonBundle, err.Error()
			out = append(out, r)
			continue
		}
		if len(refs) == 0 {
			r.Reason, r.Error = ReasonBundle, fmt.Sprintf("no Sigstore bundle is attached to %s", img.Digest)
			out = append(out, r)
			continue
		}
		var reasons []string
		var ok *Result
		for _, rf := range refs {
			b, err := ParseBundle(rf.Bundle)
			if err != nil {
				reasons = append(reasons, fmt.Sprintf("%s: %v", rf.Manifest, err))
				continue
			}
			res := v.VerifyBundle(ref, d, b)
			if res.Verified {
				res.Bundle = img.Digest.Context().Digest(rf.Manifest.String()).String()
				ok = &res
				break
			}
			if r.Reason == "" {
				r.Reason = res.Reason
			}
			reasons = append(reasons, fmt.Sprintf("%s: %s", rf.Manifest, res.Error))
		}
		if ok != nil {
			ok.Name = ref
			if img.FromTag != "" {
				ok.Name = ref + " (" + img.Descriptor.Digest.String() + ")"
			}
			out = append(out, *ok)
			continue
		}
		if r.Reason == "" {
			r.Reason = ReasonBundle
		}
		r.Error = fmt.Sprintf("none of %d attached bundles verifies: %s", len(refs), strings.Join(reasons, "; "))
		out = append(out, r)
	}
	return out
}
