package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/verify"
)

func verifySummary(results []verify.Result, rep verifyReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### cachet verify: %d verified, %d failed\n\n| artifact | result | identity / reason | signed at |\n| --- | --- | --- | --- |\n", rep.Verified, rep.Failed)
	for _, r := range results {
		if r.Verified {
			id := mdEscape(r.Identity)
			if r.SCTUnchecked {
				id += " (SCT not checked)"
			}
			fmt.Fprintf(&b, "| `%s` | ✅ verified | %s | %s |\n", mdEscape(r.Name), id, r.SignedAt.Format(time.RFC3339))
		} else {
			fmt.Fprintf(&b, "| `%s` | ❌ %s | %s | |\n", mdEscape(r.Name), r.Reason, mdEscape(r.Error))
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
