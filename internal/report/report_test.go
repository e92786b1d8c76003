package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/sign"
	"github.com/cachet-sign/cachet/verify"
	"github.com/sethvargo/go-githubactions"
)

func TestCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Check
		want string
	}{
		{"keyless signature", Check{Bundle: "app.sigstore.json", Artifact: "app", Identity: "https://github.com/o/r/.github/workflows/r.yml@refs/tags/v1", Issuer: "https://token.actions.githubusercontent.com"},
			"cosign verify-blob --bundle app.sigstore.json --certificate-identity https://github.com/o/r/.github/workflows/r.yml@refs/tags/v1 --certificate-oidc-issuer https://token.actions.githubusercontent.com app"},
		{"defaults for a run that signed nothing", Check{Identity: "i", Issuer: "u"},
			"cosign verify-blob --bundle ARTIFACT.sigstore.json --certificate-identity i --certificate-oidc-issuer u ARTIFACT"},
		{"names quoted", Check{Bundle: "my app.sigstore.json", Artifact: "it's", Identity: "i", Issuer: "u"},
			`cosign verify-blob --bundle 'my app.sigstore.json' --certificate-identity i --certificate-oidc-issuer u 'it'\''s'`},
		{"key mode without the log", Check{Key: true, Bundle: "b.json", Artifact: "a", TrustedRoot: "/tmp/tr.json"},
			"cosign verify-blob --key KEY.pub --bundle b.json --trusted-root /tmp/tr.json --insecure-ignore-tlog a"},
		{"key mode with the log", Check{Key: true, Bundle: "b.json", Artifact: "a", TrustedRoot: "tr.json", TLog: true},
			"cosign verify-blob --key KEY.pub --bundle b.json --trusted-root tr.json a"},
		{"keyless attestation", Check{Bundle: "a.intoto.sigstore.json", Artifact: "a", PredicateType: "https://slsa.dev/provenance/v1", Identity: "i", Issuer: "u"},
			"cosign verify-blob-attestation --bundle a.intoto.sigstore.json --type https://slsa.dev/provenance/v1 --certificate-identity i --certificate-oidc-issuer u a"},
		{"key-mode attestation", Check{Key: true, Bundle: "a.json", PredicateType: "https://spdx.dev/Document", TrustedRoot: "tr.json"},
			"cosign verify-blob-attestation --key KEY.pub --bundle a.json --type https://spdx.dev/Document --trusted-root tr.json --insecure-ignore-tlog ARTIFACT"},
		{"attestation on an image", Check{Bundle: "x.json", Image: "reg.example/app@sha256:ab", PredicateType: "t", Identity: "i", Issuer: "u"},
			"cosign verify-attestation --new-bundle-format --type t --certificate-identity i --certificate-oidc-issuer u reg.example/app@sha256:ab"},
	} {
		if got := tc.c.Command(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.2_x": "plain/path-1.2_x",
		"":                 "''",
		"a b":              "'a b'",
		"it's":             `'it'\''s'`,
		"$HOME":            "'$HOME'",
		"*.tar.gz":         "'*.tar.gz'",
		"a;rm -rf /":       "'a;rm -rf /'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	for in, want := range map[string]string{
		"app.tar.gz": "app.tar.gz",
		"a|b":        `a\|b`,
		"a\nb":       "a b",
		"a`b":        "a'b",
	} {
		if got := MarkdownEscape(in); got != want {
			t.Errorf("MarkdownEscape(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestSummaries: each job summary names its counts, escapes names that would break
// the table, lists what failed and ends with the command that checks the run.
func TestSummaries(t *testing.T) {
	signed := []sign.Result{{Subject: sign.Subject{Name: "a|b", Bundle: "a|b.sigstore.json"}, Digest: []byte{0xab, 0xcd}, LogIndex: 42}}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	results := []verify.Result{
		{Name: "ok.bin", Verified: true, Identity: "i", SignedAt: at, SCTUnchecked: true},
		{Name: "bad`.bin", Reason: "identity", Error: "wrong\nsigner"},
	}
	for _, tc := range []struct {
		name, got string
		want      []string
	}{
		{"sign", SignSummary(signed, []string{"c: no"}, "san", "iss", "cosign x"), []string{
			"### cachet sign: 1 signed, 1 failed", "Identity `san`, issuer `iss`", "| `a\\|b` | `abcd` | `a\\|b.sigstore.json` | 42 |", "❌ c: no", "```sh\ncosign x\n```"}},
		{"sign, nothing signed", SignSummary(nil, []string{"c: no"}, "san", "iss", "cosign x"), []string{"0 signed, 1 failed"}},
		{"key", KeySummary(signed, []string{"r: refused"}, "team", "kid", "cosign y"), []string{
			"### cachet sign (key mode): 1 signed, 1 not signed", "Tenant `team`, key `kid`", "| `a\\|b` | `abcd` | `a\\|b.sigstore.json` |\n", "❌ r: refused", "cosign y"}},
		{"attest", AttestSummary([]attest.Subject{{Name: "s", Digest: []byte{1}}}, "https://slsa.dev/provenance/v1", "b.json", "san", "cosign z"), []string{
			"### cachet attest: https://slsa.dev/provenance/v1 over 1 subject(s)", "Signed by `san`; bundle `b.json`.", "| `s` | `01` |", "Verify with:\n\n```sh\ncosign z\n```"}},
		{"verify", VerifySummary(results), []string{
			"### cachet verify: 1 verified, 1 failed", "| `ok.bin` | ✅ verified | i (SCT not checked) | 2026-01-02T03:04:05Z |", "| `bad'.bin` | ❌ identity | wrong signer | |"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s summary lacks %q:\n%s", tc.name, w, tc.got)
			}
		}
	}
	if s := SignSummary(nil, nil, "s", "i", "c"); strings.Contains(s, "| artifact |") {
		t.Errorf("a summary of nothing signed has a table:\n%s", s)
	}
}

func TestDescribe(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		r    verify.Result
		want string
	}{
		{verify.Result{Name: "a"}, "a"},
		{verify.Result{Name: "a", Identity: "i", SignedAt: at}, "a signed by i at 2026-01-02T03:04:05Z"},
		{verify.Result{Name: "a", PredicateType: "t", Identity: "i"}, "a (attestation t) signed by i"},
		{verify.Result{Name: "a", SCTUnchecked: true}, "a (SCT not checked: insecure-ignore-sct)"},
	} {
		if got := Describe(tc.r); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestWriteTextAndCounts(t *testing.T) {
	results := []verify.Result{{Name: "a", Verified: true}, {Name: "b", Error: "no bundle"}, {Name: "c", Verified: true}}
	var b bytes.Buffer
	WriteText(&b, results)
	want := "OK    a\nFAIL  b: no bundle\nOK    c\n2 verified, 1 failed\n"
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant\n%s", b.String(), want)
	}
	v := NewVerification(results, &verify.Policy{Issuer: "u"})
	if v.Verified != 2 || v.Failed != 1 || len(v.Results) != 3 || v.Policy.Issuer != "u" {
		t.Errorf("NewVerification = %+v", v)
	}
}

// TestSetOutputs: a value holding go-githubactions' fixed heredoc delimiter, or a name
// that is not one, refuses every output of the call; others are written.
func TestSetOutputs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kv      []string
		refused bool
	}{
		{"plain", []string{"bundle-paths", "a.sigstore.json\nb.sigstore.json", "log-index", "1\n2"}, false},
		{"delimiter in a value", []string{"ok", "x", "bundle-paths", "a\n" + goGitHubActionsDelimiter + "\ninjected=1"}, true},
		{"line break in a name", []string{"a\nb", "x"}, true},
		{"= in a name", []string{"a=b", "x"}, true},
	} {
		out := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(out, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		a := githubactions.New(githubactions.WithGetenv(func(k string) string {
			if k == "GITHUB_OUTPUT" {
				return out
			}
			return ""
		}), githubactions.WithWriter(&bytes.Buffer{}))
		err := SetOutputs(a, tc.kv...)
		b, _ := os.ReadFile(out)
		switch {
		case tc.refused && (err == nil || len(b) > 0):
			t.Errorf("%s: err %v, wrote %q; want refused, nothing written", tc.name, err, b)
		case !tc.refused && (err != nil || !strings.Contains(string(b), tc.kv[1])):
			t.Errorf("%s: err %v, wrote %q", tc.name, err, b)
		}
	}
}

func TestWritePolicy(t *testing.T) {
	p := &verify.Policy{IdentityRegexp: "^https://github.com/o/r/.github/workflows/r.yml@refs/(heads|tags)/[^/]+$", Issuer: "https://token.actions.githubusercontent.com", RepositoryID: "42"}
	for _, tc := range []struct {
		url, root string
		want      []string
		not       []string
	}{
		{"", "", []string{"# policy (cachet verify --policy FILE)\n", "certificate-identity-regexp:", "\ncachet verify --certificate-identity-regexp '^https", "--repository-id 42 ARTIFACT...",
			"--certificate-github-workflow-repository-id 42 ARTIFACT\n"}, []string{"cosign initialize", "--tuf-url"}},
		{"https://tuf.example.com", "", []string{"cachet verify --tuf-url https://tuf.example.com --certificate-identity-regexp", "cosign initialize --mirror https://tuf.example.com   # once"}, []string{"--tuf-root", "--root "}},
		{"https://tuf.example.com", "/etc/root.json", []string{"--tuf-url https://tuf.example.com --tuf-root /etc/root.json", "cosign initialize --mirror https://tuf.example.com --root /etc/root.json"}, nil},
	} {
		var b bytes.Buffer
		if err := WritePolicy(&b, p, tc.url, tc.root); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("tuf %q %q: lacks %q:\n%s", tc.url, tc.root, w, b.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("tuf %q %q: has %q:\n%s", tc.url, tc.root, w, b.String())
			}
		}
	}
}
