package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/attest"
	"github.com/cachet-sign/cachet/internal/release"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/sign"
	"github.com/sethvargo/go-githubactions"
)

// actionsFiles is an Actions step whose outputs and summary go to files in a temporary
// directory, and a func reading them back.
func actionsFiles(t *testing.T, outputs, summary bool) (Actions, func() (out, sum string)) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	for _, f := range files {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return files[k] }), githubactions.WithWriter(io.Discard))
	return Actions{Action: a, StepOutputs: outputs, StepSummary: summary}, func() (string, string) {
		out, _ := os.ReadFile(files["GITHUB_OUTPUT"])
		sum, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
		return string(out), string(sum)
	}
}

// publishCase is one report published: what stdout, the outputs and the summary must
// hold, and whether it is an error.
type publishCase struct {
	name             string
	publish          func(io.Writer, Actions) error
	outputs, summary bool
	stdout           []string
	out, not         []string // step outputs present, absent
	sum              string   // in the summary; "" for none
	err              string
}

func runPublishCases(t *testing.T, cases []publishCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, read := actionsFiles(t, tc.outputs, tc.summary)
			var stdout bytes.Buffer
			err := tc.publish(&stdout, o)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			out, sum := read()
			for _, w := range tc.out {
				if !strings.Contains(out, w+"<<") {
					t.Errorf("outputs lack %s:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w+"<<") {
					t.Errorf("outputs have %s:\n%s", w, out)
				}
			}
			if tc.sum == "" && sum != "" || !strings.Contains(sum, tc.sum) {
				t.Errorf("summary %q, want %q", sum, tc.sum)
			}
		})
	}
}

// TestSigningPublish: keyless and key-mode runs report who signed (identity or key),
// the step outputs and summary the step allows, and the run's error.
func TestSigningPublish(t *testing.T) {
	ok := &sign.Report{Signed: []sign.Result{{Subject: sign.Subject{Name: "app", Path: "dist/app", Bundle: "dist/app.sigstore.json"}, LogIndex: 7}},
		Bundles: []string{"dist/app.sigstore.json"}, Indexes: []string{"7"}, Artifacts: []string{"dist/app"}, Total: 1, NSigned: 1}
	refused := &sign.Report{Refused: []string{"b: refused by the policy"}, Total: 1}
	keyless := Signing{Report: ok, Signer: Signer{Identity: "san", Issuer: "iss"}, Check: Check{Identity: "san", Issuer: "iss"}}
	key := Signing{Report: ok, Signer: Signer{KeyID: "kid", PublicKey: "PEM", Tenant: "team"}, Check: Check{Key: true, TrustedRoot: "tr.json"}}
	runPublishCases(t, []publishCase{
		{name: "keyless in Actions", publish: keyless.Publish, outputs: true, summary: true,
			stdout: []string{"certificate identity: san\nissuer: iss\nverify with: cosign verify-blob --bundle dist/app.sigstore.json --certificate-identity san --certificate-oidc-issuer iss dist/app\n"},
			out:    []string{"bundle-paths", "certificate-identity", "certificate-oidc-issuer", "log-index", "verify-command"}, not: []string{"key-id"},
			sum: "### cachet sign: 1 signed, 0 failed"},
		{name: "keyless, no summary", publish: keyless.Publish, outputs: true, out: []string{"bundle-paths"}},
		{name: "outside Actions", publish: Signing{Report: ok, Signer: Signer{Identity: "san", Issuer: "iss"}}.Publish, stdout: []string{"certificate identity: san"}},
		{name: "key mode", publish: key.Publish, outputs: true, summary: true,
			stdout: []string{"key id: kid\ntenant: team\nverify with: cosign verify-blob --key KEY.pub --bundle dist/app.sigstore.json --trusted-root tr.json --insecure-ignore-tlog dist/app\n"},
			out:    []string{"bundle-paths", "key-id", "public-key", "log-index", "verify-command"}, not: []string{"certificate-identity"},
			sum: "### cachet sign (key mode): 1 signed, 0 not signed"},
		{name: "a refusal is the run's error", publish: Signing{Report: refused, Signer: Signer{KeyID: "kid"}, Check: Check{Key: true}}.Publish,
			stdout: []string{"verify with: cosign verify-blob --key KEY.pub --bundle ARTIFACT.sigstore.json"}, err: "1 of 1 artifacts refused"},
	})
	err := Signing{Report: refused, Check: Check{Key: true}}.Publish(io.Discard, Actions{})
	if !errors.Is(err, sign.ErrRefused) {
		t.Errorf("err %v, want a refusal", err)
	}
}

// TestAttestationPublish: keyless attestations report the identity and a summary, key
// mode the key and none; both the GitHub id when published.
func TestAttestationPublish(t *testing.T) {
	subjects := []attest.Subject{{Name: "app", Digest: []byte{1}}}
	check := Check{Bundle: "app.intoto.json", Artifact: "app", PredicateType: attest.SLSAProvenanceV1}
	keyless := Attestation{Subjects: subjects, Digest: "sha256:ab", LogIndex: 9, GitHubID: "42", Signer: Signer{Identity: "san", Issuer: "iss"}, Check: check}
	keyless.Check.Identity, keyless.Check.Issuer = "san", "iss"
	key := Attestation{Subjects: subjects, Digest: "sha256:ab", LogIndex: 9, Signer: Signer{KeyID: "kid", Tenant: "team"}, Check: check}
	key.Check.Key = true
	runPublishCases(t, []publishCase{
		{name: "keyless, published", publish: keyless.Publish, outputs: true, summary: true,
			stdout: []string{"certificate identity: san\nissuer: iss\nattestation digest: sha256:ab\ngithub attestation id: 42\nverify with: cosign verify-blob-attestation --bundle app.intoto.json"},
			out:    []string{"bundle-path", "attestation-digest", "certificate-identity", "certificate-oidc-issuer", "log-index", "verify-command", "attestation-id"},
			sum:    "### cachet attest: " + attest.SLSAProvenanceV1 + " over 1 subject(s)"},
		{name: "key mode: no summary", publish: key.Publish, outputs: true, summary: true,
			stdout: []string{"key id: kid\ntenant: team\nattestation digest: sha256:ab\nverify with: cosign verify-blob-attestation --key KEY.pub"},
			out:    []string{"bundle-path", "key-id", "attestation-id"}, not: []string{"certificate-identity"}},
	})
	var b bytes.Buffer
	if err := key.Publish(&b, Actions{}); err != nil || strings.Contains(b.String(), "github attestation id") {
		t.Errorf("unpublished: err %v, stdout %q", err, b.String())
	}
}

// TestReleasePublish: the counts and identity on stdout, the outputs, the run's error.
func TestReleasePublish(t *testing.T) {
	ok := Release{Tag: "v1", Repo: "o/r", Result: &release.Result{Assets: 3, Uploaded: 1, Replaced: 1, Kept: 1}, Identity: "san", Issuer: "iss"}
	failed := Release{Tag: "v1", Repo: "o/r", Result: &release.Result{Assets: 2, Kept: 1, Failed: []string{"b: no"}}, Identity: "san", Issuer: "iss"}
	runPublishCases(t, []publishCase{
		{name: "signed", publish: ok.Publish, outputs: true,
			stdout: []string{"release v1 of o/r: 1 bundles uploaded, 1 replaced, 1 kept, 0 failed of 3 assets\ncertificate identity: san\nissuer: iss\n"},
			out:    []string{"certificate-identity", "certificate-oidc-issuer", "uploaded", "kept"}},
		{name: "a failed asset", publish: failed.Publish, stdout: []string{"1 failed of 2 assets"}, err: "1 of 2 release assets have no valid bundle"},
	})
}

// TestSignerOf: a keyless signer is reported and checked by its certificate's identity
// and issuer; a key is reported by its id, PEM and tenant, and checked by the key with
// the run's trusted root and, when logged, its Rekor entry.
func TestSignerOf(t *testing.T) {
	who, check, err := SignerOf(&sign.Signer{Identity: &keyless.Identity{SAN: "san", Issuer: "iss"}}, "team", "tr.json", true)
	if err != nil || who != (Signer{Identity: "san", Issuer: "iss"}) || check != (Check{Identity: "san", Issuer: "iss"}) {
		t.Errorf("keyless: %+v, %+v, %v", who, check, err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	who, check, err = SignerOf(&sign.Signer{Key: &keys.Key{Signer: priv, ID: "kid"}}, "team", "tr.json", true)
	if err != nil || who.KeyID != "kid" || who.Tenant != "team" || !strings.HasPrefix(who.PublicKey, "-----BEGIN PUBLIC KEY-----") ||
		who.Identity != "" || check != (Check{Key: true, TrustedRoot: "tr.json", TLog: true}) {
		t.Errorf("key mode: %+v, %+v, %v", who, check, err)
	}
}
