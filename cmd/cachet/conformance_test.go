package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/trust/publicgood"
)

// The defaults of the sigstore-conformance harness (test/client.py at the commit in
// testdata/conformance/README.md): the identity and issuer a case uses unless it has
// identity and issuer files.
const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/" +
		"workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer = "https://token.actions.githubusercontent.com"
)

// conformanceTrustDir is a trust cache holding the public-good trusted root, imported
// the way an air-gapped user would (cachet trust export, cachet trust import), so that
// cases without a trusted_root.json run as the harness runs them: with no
// --trusted-root, against the client's default trust (the public-good instance), and
// offline.
func conformanceTrustDir(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "publicgood_trusted_root.json")
	if err := os.WriteFile(root, publicgood.TrustedRootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	export, dir := filepath.Join(tmp, "trust.json"), filepath.Join(tmp, "cache")
	for _, args := range [][]string{
		{"trust", "export", "--trusted-root", root, "--out", export},
		{"trust", "import", export, "--dir", dir},
	} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb}); code != exitOK {
			t.Fatalf("cachet %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
	}
	return dir
}

// conformanceArgs builds the verify-bundle command line exactly as the harness's
// SigstoreClient.build_verify_args does: --bundle, then --key or the identity and
// issuer, then --trusted-root when the case has one, then the artifact's path or its
// sha256: digest. The artifact is the case's artifact file, else bundle-verify/a.txt.
func conformanceArgs(t *testing.T, dir string, digest bool) []string {
	t.Helper()
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	args := []string{"verify-bundle", "--bundle", filepath.Join(dir, "bundle.sigstore.json")}
	if exists("key.pub") {
		args = append(args, "--key", filepath.Join(dir, "key.pub"))
	} else {
		identity, issuer := conformanceIdentity, conformanceIssuer
		if exists("identity") {
			identity = read("identity")
		}
		if exists("issuer") {
			issuer = read("issuer")
		}
		args = append(args, "--certificate-identity", identity, "--certificate-oidc-issuer", issuer)
	}
	if exists("trusted_root.json") {
		args = append(args, "--trusted-root", filepath.Join(dir, "trusted_root.json"))
	}
	artifact := filepath.Join(dir, "artifact")
	if !exists("artifact") {
		artifact = filepath.Join(filepath.Dir(dir), "a.txt")
	}
	if digest {
		data, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		return append(args, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return append(args, artifact)
}

// TestConformanceBundleVerify runs every sigstore-conformance bundle-verify case
// (testdata/conformance) through `cachet verify-bundle`, with the artifact as a path and
// as a sha256: digest, as the harness's test_verify does: a case whose name ends in
// _fail must be refused, every other case must verify.
func TestConformanceBundleVerify(t *testing.T) {
	const assets = "../../testdata/conformance/bundle-verify"
	entries, err := os.ReadDir(assets)
	if err != nil {
		t.Fatal(err)
	}
	trustDir := conformanceTrustDir(t)
	getenv := func(k string) string {
		if k == "CACHET_TRUST_DIR" {
			return trustDir
		}
		return ""
	}
	cases := 0
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		cases++
		name := ent.Name()
		dir := filepath.Join(assets, name)
		wantFail := strings.HasSuffix(name, "_fail")
		for _, digest := range []bool{false, true} {
			form := "path"
			if digest {
				form = "digest"
			}
			t.Run(name+"/"+form, func(t *testing.T) {
				args := conformanceArgs(t, dir, digest)
				var out, errb bytes.Buffer
				code := run(t.Context(), args, &env{getenv: getenv, stdout: &out, stderr: &errb})
				cmdline := "cachet " + strings.Join(args, " ")
				switch {
				case wantFail && code == exitOK:
					t.Fatalf("%s verified a bundle the case says must fail:\n%s", cmdline, out.String())
				case wantFail && !strings.Contains(errb.String(), "cachet: "):
					t.Fatalf("%s: exit %d without saying why:\n%s", cmdline, code, errb.String())
				case !wantFail && code != exitOK:
					t.Fatalf("%s: exit %d, want 0:\n%s", cmdline, code, errb.String())
				case !wantFail && !strings.HasPrefix(out.String(), "Verified OK: "):
					t.Fatalf("%s: exit 0 but stdout %q", cmdline, out.String())
				}
			})
		}
	}
	// The pinned commit has 70 cases; fewer means the copy is incomplete.
	if cases < 70 {
		t.Fatalf("found %d conformance cases in %s, want the 70 of the pinned commit", cases, assets)
	}
}

// runCachet runs the CLI in-process with an empty environment.
func runCachet(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// TestVerifyBundleArtifactForms: FILE_OR_DIGEST as the conformance protocol reads it. A
// file whose name looks like a digest is a file (its content is hashed, not its name);
// sha256: with 64 hex digits is a digest; anything else after sha256: that is no file
// is refused as neither, with exit 2.
func TestVerifyBundleArtifactForms(t *testing.T) {
	c := mustAbs(t, "../../testdata/conformance/bundle-verify", "rekor2-happy-path")
	data, err := os.ReadFile(filepath.Join(c, "..", "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	// A file named like the digest of something else, holding the signed content.
	t.Chdir(t.TempDir())
	wrong := sha256.Sum256([]byte("other"))
	named := "sha256:" + hex.EncodeToString(wrong[:])
	if err := os.WriteFile(named, data, 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"verify-bundle", "--bundle", filepath.Join(c, "bundle.sigstore.json"),
		"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer,
		"--trusted-root", filepath.Join(c, "trusted_root.json")}
	for _, tc := range []struct {
		arg      string
		wantCode int
		wantOut  string
	}{
		{digest, exitOK, "Verified OK: " + digest},
		{named, exitOK, "Verified OK: " + named},
		{"sha256:" + hex.EncodeToString(wrong[:31]), exitUsage, "neither a file nor a digest"},
		{"sha256:zz", exitUsage, "neither a file nor a digest"},
	} {
		code, out, errs := runCachet(t, append(base, tc.arg)...)
		if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
			t.Errorf("verify-bundle %s: exit %d, want %d with %q:\n%s%s", tc.arg, code, tc.wantCode, tc.wantOut, out, errs)
		}
	}
}

func mustAbs(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttestationTypeVerifyVsVerifyBundle: verify-bundle accepts an in-toto bundle whose
// subject is the artifact without --type, and --type narrows it; cachet verify, the
// deploy job's command, refuses an attestation unless its type is asked for, by name or
// as --type any.
func TestAttestationTypeVerifyVsVerifyBundle(t *testing.T) {
	c := mustAbs(t, "../../testdata/conformance/bundle-verify", "rekor2-dsse-happy-path")
	artifact := mustAbs(t, "../../testdata/conformance/bundle-verify", "a.txt")
	bundle, tr := filepath.Join(c, "bundle.sigstore.json"), filepath.Join(c, "trusted_root.json")
	id := []string{"--certificate-identity", conformanceIdentity, "--certificate-oidc-issuer", conformanceIssuer, "--trusted-root", tr}
	vb := func(extra ...string) []string {
		return append(append(append([]string{"verify-bundle", "--bundle", bundle}, id...), extra...), artifact)
	}
	data, err := os.ReadFile(artifact)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	vd := func(extra ...string) []string {
		return append(append(append([]string{"verify"}, id...), extra...), "sha256:"+hex.EncodeToString(sum[:])+"="+bundle)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"verify-bundle, no type", vb(), exitOK, "(attestation https://slsa.dev/provenance/v1)"},
		{"verify-bundle, --type any", vb("--type", "any"), exitOK, "Verified OK"},
		{"verify-bundle, another type", vb("--type", "spdx"), exitFailure, "predicate-type-mismatch"},
		{"verify, no type", vd(), exitFailure, "predicate-type-mismatch"},
		{"verify, --type any", vd("--type", "any"), exitOK, "1 verified, 0 failed"},
		{"verify, another type", vd("--type", "cyclonedx"), exitFailure, "predicate-type-mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCachet(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("cachet %s: exit %d, want %d with %q:\n%s%s", strings.Join(tc.args, " "), code, tc.wantCode, tc.want, out, errs)
			}
		})
	}
}
