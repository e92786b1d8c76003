package keyless

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/fakegithub"
)

// FuzzClaims feeds arbitrary payloads through claim parsing, identity derivation and the
// expectation check: no panic, and any identity derived names the job workflow under
// the server URL.
func FuzzClaims(f *testing.F) {
	good, _ := json.Marshal(fakegithub.DefaultClaims())
	f.Add(good)
	f.Add([]byte(`{"iss":"x","job_workflow_ref":"a/b/.github/workflows/c.yml@refs/heads/main"}`))
	f.Add([]byte(`{"repository":"../../etc","job_workflow_ref":"/x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseClaims(payload)
		if err != nil {
			return
		}
		_ = Expectations{Repository: "octo-org/octo-repo", Ref: "refs/heads/main"}.Check(c)
		id, err := DeriveIdentity(c, "")
		if err != nil {
			if !IsRefusal(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if !strings.HasPrefix(id.SAN, DefaultServerURL+"/") || id.Issuer != c.Issuer || id.Extensions.BuildSignerURI != id.SAN {
			t.Fatalf("identity %+v from claims %+v", id, c)
		}
	})
}

// FuzzPeekClaims covers the unverified JWT split/decode that routes messages.
func FuzzPeekClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")
	f.Add("a.b")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := peekClaims(raw)
		if err == nil && c == nil {
			t.Fatal("nil claims without error")
		}
	})
}
