package policy_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/sign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

func sum(s string) []byte  { d := sha256.Sum256([]byte(s)); return d[:] }
func hexd(s string) string { return "sha256:" + hex.EncodeToString(sum(s)) }

// release is the job the rules are written for: a tag push, in the production
// environment, on a self-hosted runner.
var release = &keyless.Claims{Repository: "octo-org/app", RepositoryID: "42", JobWorkflowRef: "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0",
	Ref: "refs/tags/v1.2.0", Environment: "production", EventName: "push", RunnerEnvironment: "self-hosted"}

func with(f func(c *keyless.Claims)) *keyless.Claims {
	c := *release
	f(&c)
	return &c
}

func testPolicy(t *testing.T, keyID string) *policy.Policy {
	t.Helper()
	doc := `
tenants:
  apps:
    keys:
      - key-id: "` + keyID + `"
        name: app-key
        rules:
          - repository: octo-org/app
            repository-id: "42"
            workflow: octo-org/app/.github/workflows/release.yml
            refs: ["refs/tags/v*"]
            environment: production
            events: [push, release]
            runner-environments: [self-hosted]
            digests-deny: ["` + hexd("revoked build") + `"]
          - repository: octo-org/approved
            refs: ["refs/heads/main"]
            digests-allow: ["` + hexd("approved twice") + `", "` + hexd("approved once") + `", "` + hexd("approved by outsider") + `", "` + hexd("approved by alice thrice") + `"]
            approvals: 2
            approvers: [alice, " Bob", carol]
          - repository: octo-org/gated
            refs: ["refs/heads/main"]
            environment: release-gate
            approvals: 2
            environment-approves: true
`
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p.Approvals, err = policy.ParseApprovals([]byte(`
- {digest: "` + hexd("approved twice") + `", approver: alice}
- {digest: "` + hexd("approved twice") + `", approver: bob}
- {digest: "` + hexd("approved once") + `", approver: alice}
- {digest: "` + hexd("approved once") + `", approver: alice}
- {digest: "` + hexd("approved by outsider") + `", approver: alice}
- {digest: "` + hexd("approved by outsider") + `", approver: mallory}
- {digest: "` + hexd("approved by alice thrice") + `", approver: alice}
- {digest: "` + hexd("approved by alice thrice") + `", approver: " ALICE"}
- {digest: "` + hexd("approved by alice thrice") + `", approver: "@Alice"}
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMaySign runs each condition allowing and refusing through the signing pipeline,
// as cachet sign does: an allowed digest is signed and audited as codesign.signed, a
// refused one leaves no bundle and is audited as codesign.refused with the reason.
func TestMaySign(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyID, _ := keys.KeyID(ec.Public())
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherID, _ := keys.KeyID(other.Public())
	pol := testPolicy(t, keyID)
	for _, tc := range []struct {
		name     string
		tenant   string
		keyID    string
		claims   *keyless.Claims
		artifact string
		reason   string // empty: allowed
	}{
		{"all conditions hold", "apps", keyID, release, "build", ""},
		{"unknown tenant", "games", keyID, release, "build", `tenant "games" is not in the policy`},
		{"key of no tenant", "apps", otherID, release, "build", "is not a key of tenant"},
		{"other repository", "apps", keyID, with(func(c *keyless.Claims) { c.Repository = "octo-org/fork" }), "build", "no rule of key"},
		{"renamed-over repository id", "apps", keyID, with(func(c *keyless.Claims) { c.RepositoryID = "666" }), "build", "no rule of key"},
		{"other workflow", "apps", keyID, with(func(c *keyless.Claims) { c.JobWorkflowRef = "octo-org/app/.github/workflows/ci.yml@refs/tags/v1.2.0" }), "build", "no rule of key"},
		{"protected ref: tag allowed", "apps", keyID, with(func(c *keyless.Claims) { c.Ref = "refs/tags/v9" }), "build", ""},
		{"protected ref: branch refused", "apps", keyID, with(func(c *keyless.Claims) { c.Ref = "refs/heads/feature" }), "build", `ref "refs/heads/feature" is not a protected ref`},
		{"environment missing", "apps", keyID, with(func(c *keyless.Claims) { c.Environment = "" }), "build", `environment "", the rule requires "production"`},
		{"event allowed", "apps", keyID, with(func(c *keyless.Claims) { c.EventName = "release" }), "build", ""},
		{"event refused", "apps", keyID, with(func(c *keyless.Claims) { c.EventName = "pull_request" }), "build", `event "pull_request" is not among`},
		{"runner refused", "apps", keyID, with(func(c *keyless.Claims) { c.RunnerEnvironment = "github-hosted" }), "build", `runner environment "github-hosted"`},
		{"digest denied", "apps", keyID, release, "revoked build", "is on the deny list"},
		{"first failing condition wins", "apps", keyID, with(func(c *keyless.Claims) { c.Ref = "refs/heads/x"; c.EventName = "pull_request" }), "revoked build", "is not a protected ref"},
		{"approvals: two distinct approvers", "apps", keyID, approvedRepo, "approved twice", ""},
		{"approvals: one approver twice", "apps", keyID, approvedRepo, "approved once", "has 1 of 2 required approvals"},
		{"approvals: outsider does not count", "apps", keyID, approvedRepo, "approved by outsider", "has 1 of 2 required approvals"},
		{"approvals: one login in three spellings counts once", "apps", keyID, approvedRepo, "approved by alice thrice", "has 1 of 2 required approvals"},
		{"digest not on allow list", "apps", keyID, approvedRepo, "something else", "is not on the allow list"},
		{"environment approves", "apps", keyID, gatedRepo, "anything", ""},
		{"environment approval missing", "apps", keyID, with(func(c *keyless.Claims) { *c = *gatedRepo; c.Environment = "staging" }), "anything", `requires "release-gate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			art := filepath.Join(dir, "artifact")
			os.WriteFile(art, []byte(tc.artifact), 0o644)
			var log bytes.Buffer
			pr := policy.FromClaims(tc.claims)
			p := &sign.Pipeline{
				Signer: ec, KeyHint: tc.keyID,
				Verify:    func(*sgbundle.Bundle, []byte) error { return nil },
				Audit:     &audit.Logger{W: &log},
				Authorize: func(d []byte) error { return pol.MaySign(tc.tenant, pr, tc.keyID, d) },
				Tenant:    tc.tenant, Principal: pr.String(),
			}
			r := p.Sign(context.Background(), sign.Subject{Path: art, Bundle: art + ".sigstore.json"})
			_, statErr := os.Stat(art + ".sigstore.json")
			var ev audit.Event
			if err := json.Unmarshal(log.Bytes(), &ev); err != nil || strings.Count(log.String(), "\n") != 1 {
				t.Fatalf("want one audit line, got %q (%v)", log.String(), err)
			}
			if ev.Tenant != tc.tenant || ev.KeyID != tc.keyID || ev.Principal != pr.String() || ev.Digest != hexd(tc.artifact) || ev.Time.IsZero() {
				t.Errorf("audit line lacks a field: %+v", ev)
			}
			if tc.reason == "" {
				if r.Err != nil || statErr != nil || ev.Event != "codesign.signed" || ev.Reason != "" {
					t.Fatalf("want signed: err %v, bundle %v, audit %+v", r.Err, statErr, ev)
				}
				return
			}
			var re *policy.RefusedError
			if !errors.Is(r.Err, policy.ErrRefused) || !errors.As(r.Err, &re) || !strings.Contains(re.Reason, tc.reason) {
				t.Fatalf("want refusal saying %q, got %v", tc.reason, r.Err)
			}
			if statErr == nil {
				t.Error("a refused digest left a bundle")
			}
			if ev.Event != "codesign.refused" || !strings.Contains(ev.Reason, tc.reason) {
				t.Errorf("audit %+v, want codesign.refused with the reason", ev)
			}
		})
	}
}

var (
	approvedRepo = with(func(c *keyless.Claims) {
		c.Repository = "octo-org/approved"
		c.Ref = "refs/heads/main"
		c.Environment = ""
	})
	gatedRepo = with(func(c *keyless.Claims) {
		c.Repository = "octo-org/gated"
		c.Ref = "refs/heads/main"
		c.Environment = "release-gate"
	})
)

// TestSignFailureAudited: a signer that fails is codesign.failed, not refused.
func TestSignFailureAudited(t *testing.T) {
	var log bytes.Buffer
	p := &sign.Pipeline{Signer: failing{}, KeyHint: "k", Verify: func(*sgbundle.Bundle, []byte) error { return nil },
		Audit: &audit.Logger{W: &log}, Authorize: func([]byte) error { return nil }, Tenant: "apps"}
	r := p.Sign(context.Background(), sign.Subject{Name: "x", Digest: sum("x"), Bundle: filepath.Join(t.TempDir(), "b")})
	if r.Err == nil || errors.Is(r.Err, policy.ErrRefused) || !strings.Contains(log.String(), `"event":"codesign.failed"`) {
		t.Fatalf("err %v, audit %s", r.Err, log.String())
	}
}

type failing struct{}

func (failing) Public() crypto.PublicKey { return nil }
func (failing) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("token removed")
}

func TestParse(t *testing.T) {
	ok := "tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [refs/heads/main]}]}]}}"
	if _, err := policy.Parse([]byte(ok)); err != nil {
		t.Fatalf("valid policy: %v", err)
	}
	for _, tc := range []struct{ doc, says string }{
		{"", "no tenants"},
		{"tenants: {}", "no tenants"},
		{"tennants: {}", `unknown key "tennants"`},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [refs/heads/main], enviroment: prod}]}]}}", `unknown key "enviroment" in tenants.a.keys[0].rules[0]`},
		{"tenants: {a: {keys: [{rules: [{repository: o/r, refs: [x]}]}]}}", "no key-id"},
		{"tenants: {a: {keys: [{key-id: K, rules: []}]}}", "no rules"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{refs: [x]}]}]}}", "repository or repository-id"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r}]}]}}", "no refs"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: ['[']}]}]}}", "bad pattern"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, repository-id: abc, refs: [x]}]}]}}", "not a number"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x], digests-allow: [md5:00]}]}]}}", "is not sha256:"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x], approvals: -1}]}]}}", "negative"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x], environment-approves: true}]}]}}", "needs environment"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x], approvers: [a]}]}]}}", "approvers without approvals"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}, {key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}", "listed twice"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}\n---\nx: 1", "more than one document"},
		{"tenants:\n  a:\n    keys:\n      - key-id: K\n        rules:\n          - {repository: o/r, refs: [x], digests-deny: [" + hexd("d") + "]}\n        rules:\n          - {repository: o/r, refs: [x]}\n", "already set"},
		{"tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x], Digests-Deny: [" + hexd("d") + "]}]}]}}", `unknown key "Digests-Deny"`},
		{"Tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}", `unknown key "Tenants"`},
	} {
		_, err := policy.Parse([]byte(tc.doc))
		if !errors.Is(err, policy.ErrPolicy) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Parse(%q) = %v, want ErrPolicy saying %q", tc.doc, err, tc.says)
		}
	}
	for _, doc := range []string{"[{digest: nope, approver: a}]", "[{digest: " + hexd("x") + "}]", "[{digest: " + hexd("x") + ", approver: a, when: now}]", "{}"} {
		if _, err := policy.ParseApprovals([]byte(doc)); !errors.Is(err, policy.ErrPolicy) {
			t.Errorf("ParseApprovals(%q) = %v, want ErrPolicy", doc, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	policyDir(t, dir)
	os.WriteFile(filepath.Join(dir, "approvals.yaml"), []byte("- {digest: "+hexd("a")+", approver: alice}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("approvals-file: approvals.yaml\ntenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}\n"), 0o644)
	p, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil || len(p.Approvals) != 1 {
		t.Fatalf("Load: %v %+v", err, p)
	}
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("approvals-file: missing.yaml\ntenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [x]}]}]}}\n"), 0o644)
	if _, err := policy.Load(filepath.Join(dir, "policy.yaml")); !errors.Is(err, policy.ErrPolicy) {
		t.Fatalf("missing approvals file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: [refs/tags/v*], approvals: 1, approvers: [x], digests-deny: [" + hexd("d") + "]}]}]}}"))
	f.Add([]byte(`{"tenants":{"a":{"keys":[{"key-id":"K","rules":[{"repository-id":"1","refs":["*"]}]}]}}}`))
	f.Add([]byte("- {digest: " + hexd("x") + ", approver: a}"))
	f.Add([]byte("tenants: {a: {keys: [{key-id: K, rules: [{repository: o/r, refs: ['[']}]}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse(data)
		if err != nil && !errors.Is(err, policy.ErrPolicy) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil {
			// A parsed policy decides without panicking, and a refusal is typed.
			if err := p.MaySign("a", policy.Principal{Repository: "o/r", Ref: "refs/tags/v1"}, "K", sum("x")); err != nil && !errors.Is(err, policy.ErrRefused) {
				t.Fatalf("untyped decision %v", err)
			}
		}
		if _, err := policy.ParseApprovals(data); err != nil && !errors.Is(err, policy.ErrPolicy) {
			t.Fatalf("untyped approvals error %v", err)
		}
	})
}
