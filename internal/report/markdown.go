package report

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/verify"
)

// MarkdownEscape makes s safe inside a Markdown table cell or code span: a pipe would
// end the cell, a line break the row, a backtick the code span.
func MarkdownEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// SignSummary is the job summary of a keyless signing run: the identity, a table of
// what was signed, what was not, and the command that checks it.
func SignSummary(signed []sign.Result, failed []string, san, issuer, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet sign: %d signed, %d failed\n\nIdentity `%s`, issuer `%s`\n\n", len(signed), len(failed), MarkdownEscape(san), MarkdownEscape(issuer))
	if len(signed) > 0 {
		b.WriteString("| artifact | sha256 | bundle | log index |\n| --- | --- | --- | --- |\n")
		for _, r := range signed {
			fmt.Fprintf(&b, "| `%s` | `%x` | `%s` | %d |\n", MarkdownEscape(r.Subject.Name), r.Digest, MarkdownEscape(r.Subject.Bundle), r.LogIndex)
		}
	}
	for _, f := range failed {
		fmt.Fprintf(&b, "\n❌ %s\n", MarkdownEscape(f))
	}
	fmt.Fprintf(&b, "\nVerify:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}

// KeySummary is the job summary of a key-mode signing run: tenant and key instead of
// an identity; notSigned holds refusals and failures alike.
func KeySummary(signed []sign.Result, notSigned []string, tenant, keyID, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet sign (key mode): %d signed, %d not signed\n\nTenant `%s`, key `%s`\n\n", len(signed), len(notSigned), MarkdownEscape(tenant), MarkdownEscape(keyID))
	if len(signed) > 0 {
		b.WriteString("| artifact | sha256 | bundle |\n| --- | --- | --- |\n")
		for _, r := range signed {
			fmt.Fprintf(&b, "| `%s` | `%x` | `%s` |\n", MarkdownEscape(r.Subject.Name), r.Digest, MarkdownEscape(r.Subject.Bundle))
		}
	}
	for _, n := range notSigned {
		fmt.Fprintf(&b, "\n❌ %s\n", MarkdownEscape(n))
	}
	fmt.Fprintf(&b, "\nVerify:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}

// AttestSummary is the job summary of an attestation: what it is about, by whom, and
// how to check it.
func AttestSummary(subjects []attest.Subject, predType, bundlePath, san, verifyCmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet attest: %s over %d subject(s)\n\nSigned by `%s`; bundle `%s`.\n\n| subject | sha256 |\n| --- | --- |\n",
		MarkdownEscape(predType), len(subjects), MarkdownEscape(san), MarkdownEscape(bundlePath))
	for _, s := range subjects {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", MarkdownEscape(s.Name), hex.EncodeToString(s.Digest))
	}
	fmt.Fprintf(&b, "\nVerify with:\n\n```sh\n%s\n```\n", verifyCmd)
	return b.String()
}

// VerifySummary is the job summary of cachet verify: one row per result, the identity
// of what verified, the reason of what did not.
func VerifySummary(results []verify.Result) string {
	verified, failed := Count(results)
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet verify: %d verified, %d failed\n\n| artifact | result | identity / reason | signed at |\n| --- | --- | --- | --- |\n", verified, failed)
	for _, r := range results {
		if r.Verified {
			id := MarkdownEscape(r.Identity)
			if r.SCTUnchecked {
				id += " (SCT not checked)"
			}
			fmt.Fprintf(&b, "| `%s` | ✅ verified | %s | %s |\n", MarkdownEscape(r.Name), id, r.SignedAt.Format(time.RFC3339))
		} else {
			fmt.Fprintf(&b, "| `%s` | ❌ %s | %s | |\n", MarkdownEscape(r.Name), r.Reason, MarkdownEscape(r.Error))
		}
	}
	return b.String()
}
