package e2e

import (
	"bufio"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/fakegithubapi"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// localReleaseToken is the GITHUB_TOKEN scripts/release --local gives cachet release.
const localReleaseToken = "ghs_local_release_token"

// releaseBinaries are the files scripts/release builds, with what each must be.
var releaseBinaries = map[string]string{
	"cachet-linux-amd64": "elf/amd64", "cachet-linux-arm64": "elf/arm64", "cachet-linux-amd64-pkcs11": "elf/amd64",
	"cachet-darwin-amd64": "macho/amd64", "cachet-darwin-arm64": "macho/arm64",
	"cachet-windows-amd64.exe": "pe/amd64", "cachet-windows-arm64.exe": "pe/arm64",
}

// binaryKind reads a binary's format and architecture from its headers.
func binaryKind(t *testing.T, path string) string {
	t.Helper()
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		switch f.Machine {
		case elf.EM_X86_64:
			return "elf/amd64"
		case elf.EM_AARCH64:
			return "elf/arm64"
		}
		return "elf/" + f.Machine.String()
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		switch f.Cpu {
		case macho.CpuAmd64:
			return "macho/amd64"
		case macho.CpuArm64:
			return "macho/arm64"
		}
		return "macho/" + f.Cpu.String()
	}
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return "pe/amd64"
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return "pe/arm64"
		}
		return "pe/other"
	}
	return "unknown"
}

// readKV reads scripts/release's release.env (key=value lines).
func readKV(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestReleaseLocal is issue 15 end to end: scripts/release --local against the stack, a
// local registry and the fake GitHub API builds the 6 static binaries and the cgo one,
// each with a bundle that cachet verify and cosign accept for the release workflow's
// identity; SHA256SUMS checks; the image is in the registry for two platforms with a
// provenance referrer cachet verify --image accepts; a tampered binary fails; the
// release holds every file; the release commit pins the image digest. Then the
// digest-pinned container action, pulled from the registry and run with the runner's
// flags, signs and verifies; and the setup action's install script installs a verified
// binary from the fake release and refuses one whose checksum or bundle does not match.
func TestReleaseLocal(t *testing.T) {
	setupContainers(t) // buildah and podman
	ws := t.TempDir()
	host := startRegistry(t, t.TempDir(), false)
	api, err := fakegithubapi.Start(localReleaseToken)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	out := filepath.Join(ws, "release")
	r := run(t, "..", []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOFLAGS=" + os.Getenv("GOFLAGS")},
		"scripts/release", "--local", "--tag", "v1.4.0", "--out", out, "--registry", host, "--github-api", api.URL)
	if r.code != 0 {
		t.Fatalf("scripts/release --local: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := strings.TrimSpace(r.stdout); !strings.HasSuffix(got, out) {
		t.Fatalf("scripts/release printed %q last, want the output directory %s", got, out)
	}
	rel := readKV(t, filepath.Join(out, "release.env"))
	identity := "https://github.com/cachet-sign/cachet/.github/workflows/release.yml@refs/tags/v1.4.0"
	if rel["identity"] != identity || !strings.HasPrefix(rel["image"], host+"/cachet-sign/cachet@sha256:") {
		t.Fatalf("release.env: %v", rel)
	}
	iss := stack["CACHET_STACK_OIDC_ISSUER"]
	dist := filepath.Join(out, "dist")
	plain := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + ws}

	t.Run("binaries", func(t *testing.T) {
		var files []string
		for n, kind := range releaseBinaries {
			p := filepath.Join(dist, n)
			if got := binaryKind(t, p); got != kind {
				t.Errorf("%s is %s, want %s", n, got, kind)
			}
			files = append(files, p)
		}
		sort.Strings(files)
		files = append(files, filepath.Join(dist, "SHA256SUMS"))
		v := run(t, dist, plain, cachetBin, append([]string{"verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", identity, "--certificate-oidc-issuer", iss, "--repository", "cachet-sign/cachet", "--ref", "refs/tags/v1.4.0"}, files...)...)
		if v.code != 0 || !strings.Contains(v.stdout, "8 verified, 0 failed") {
			t.Fatalf("cachet verify of the release: exit %d\n%s%s", v.code, v.stdout, v.stderr)
		}
		for _, f := range files {
			if c := cosignVerify(t, dist, f+".sigstore.json", identity, iss, f); c.code != 0 {
				t.Errorf("cosign refused %s: %s", filepath.Base(f), c.stderr)
			}
		}
		if c := run(t, dist, plain, "sha256sum", "--check", "--strict", "SHA256SUMS"); c.code != 0 || strings.Count(c.stdout, ": OK") != len(releaseBinaries) {
			t.Fatalf("sha256sum --check: exit %d\n%s%s", c.code, c.stdout, c.stderr)
		}
		// The binaries' provenance: one statement, every binary a subject.
		for n := range releaseBinaries {
			a := run(t, dist, plain, cachetBin, "verify-bundle", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
				"--certificate-identity", identity, "--certificate-oidc-issuer", iss, "--type", "slsaprovenance1",
				"--bundle", "cachet.intoto.sigstore.json", n)
			if a.code != 0 {
				t.Errorf("provenance for %s: exit %d\n%s%s", n, a.code, a.stdout, a.stderr)
			}
		}
		// A changed binary, with the real one's bundle, is refused by both.
		tampered := filepath.Join(ws, "cachet-linux-amd64")
		raw, err := os.ReadFile(filepath.Join(dist, "cachet-linux-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0x01
		writeFile(t, tampered, string(raw))
		b := readNonEmpty(t, filepath.Join(dist, "cachet-linux-amd64.sigstore.json"))
		writeFile(t, tampered+".sigstore.json", string(b))
		v = run(t, ws, plain, cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", identity, "--certificate-oidc-issuer", iss, tampered)
		if v.code != 1 || !strings.Contains(v.stdout+v.stderr, "artifact-mismatch") {
			t.Fatalf("a tampered binary: exit %d, want 1 with artifact-mismatch\n%s%s", v.code, v.stdout, v.stderr)
		}
		if c := cosignVerify(t, ws, tampered+".sigstore.json", identity, iss, tampered); c.code == 0 {
			t.Fatal("cosign accepted a tampered binary")
		}
	})

	t.Run("github release", func(t *testing.T) {
		id, ok := api.Release("cachet-sign/cachet", "v1.4.0")
		if !ok {
			t.Fatal("no release v1.4.0 on the fake GitHub")
		}
		assets := api.Assets(id)
		want := []string{"SHA256SUMS", "SHA256SUMS.sigstore.json", "cachet.intoto.sigstore.json"}
		for n := range releaseBinaries {
			want = append(want, n, n+".sigstore.json")
		}
		for _, n := range want {
			local, err := os.ReadFile(filepath.Join(dist, n))
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := assets[n]; !ok || string(a.Data) != string(local) {
				t.Errorf("release asset %s missing or not the built file", n)
			}
		}
		if len(assets) != len(want) {
			t.Errorf("release has %d assets, want %d: %v", len(assets), len(want), keys(assets))
		}
		// Publishing a different file under an existing asset's name is refused, before
		// anything is signed, and the asset stays as it was.
		other := filepath.Join(ws, "SHA256SUMS")
		writeFile(t, other, "not the release's checksums\n")
		env := append(releaseEnv(t, ws), "GITHUB_TOKEN="+localReleaseToken, "GITHUB_REPOSITORY=cachet-sign/cachet")
		r := run(t, ws, env, cachetBin, append(releaseArgs(api, ws, "v1.4.0"), "--upload", other)...)
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "already has an asset SHA256SUMS with other content") {
			t.Fatalf("--upload over an asset with other content: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if string(api.Assets(id)["SHA256SUMS"].Data) != string(assets["SHA256SUMS"].Data) {
			t.Fatal("the refused upload changed the asset")
		}
	})

	t.Run("image", func(t *testing.T) {
		ref, err := name.NewDigest(rel["image"], name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatalf("the image is not an index in the registry: %v", err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var plats []string
		for _, m := range im.Manifests {
			if m.Platform != nil {
				plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
			}
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			ls, _ := img.Layers()
			var size int64
			for _, l := range ls {
				n, _ := l.Size()
				size += n
			}
			var raw int64
			for _, l := range ls {
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, rc)
				rc.Close()
				raw += n
			}
			t.Logf("%s/%s: %d layers, %.1f MB compressed, %.1f MB uncompressed", m.Platform.OS, m.Platform.Architecture, len(ls), float64(size)/1e6, float64(raw)/1e6)
			if raw >= 25e6 {
				t.Errorf("%s/%s image is %.1f MB, over the 25 MB budget", m.Platform.OS, m.Platform.Architecture, float64(raw)/1e6)
			}
		}
		sort.Strings(plats)
		if strings.Join(plats, ",") != "linux/amd64,linux/arm64" {
			t.Fatalf("platforms %v", plats)
		}
		v := run(t, ws, plain, cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", identity, "--certificate-oidc-issuer", iss, "--repository", "cachet-sign/cachet", "--type", "slsaprovenance1", "--image", rel["image"])
		if v.code != 0 {
			t.Fatalf("cachet verify --image: exit %d\n%s%s", v.code, v.stdout, v.stderr)
		}
		other := run(t, ws, plain, cachetBin, "verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
			"--certificate-identity", wantSAN, "--certificate-oidc-issuer", iss, "--type", "slsaprovenance1", "--image", rel["image"])
		if other.code != 1 || !strings.Contains(other.stdout, "identity-mismatch") {
			t.Fatalf("cachet verify --image for another identity: exit %d, want 1 with identity-mismatch\n%s%s", other.code, other.stdout, other.stderr)
		}
	})

	src := filepath.Join(out, "src")
	t.Run("release commit", func(t *testing.T) {
		for _, f := range []string{"action.yml", "attest/action.yml", "verify/action.yml"} {
			meta := readAction(t, filepath.Join(src, f))
			if meta.Runs.Image != "docker://"+rel["image"] {
				t.Errorf("%s: runs.image %q, want docker://%s", f, meta.Runs.Image, rel["image"])
			}
		}
		sums, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		pinned, _ := os.ReadFile(filepath.Join(src, "setup/SHA256SUMS"))
		if len(sums) == 0 || string(sums) != string(pinned) {
			t.Fatal("setup/SHA256SUMS is not the release's SHA256SUMS")
		}
		for _, tag := range []string{"v1.4.0", "v1"} {
			g := run(t, src, plain, "git", "log", "-1", "--format=%s", tag)
			if g.code != 0 || strings.TrimSpace(g.stdout) != "release: v1.4.0" {
				t.Errorf("tag %s: %s%s", tag, g.stdout, g.stderr)
			}
		}
	})

	t.Run("container action from the pinned image", func(t *testing.T) {
		if p := run(t, ws, os.Environ(), "podman", "pull", "--tls-verify=false", rel["image"]); p.code != 0 {
			t.Fatalf("podman pull: %s", p.stderr)
		}
		rn := newRunner(t)
		writeFile(t, filepath.Join(rn.ws, "app.tar.gz"), "signed by the released image\n")
		trBytes, _ := os.ReadFile(stack["CACHET_STACK_TRUSTED_ROOT"])
		writeFile(t, filepath.Join(rn.ws, "trusted_root.json"), string(trBytes))
		meta := readAction(t, filepath.Join(src, "action.yml"))
		res, outputs, _ := rn.exec(rel["image"], meta.Runs.Args, map[string]string{
			"artifacts": "app.tar.gz", "trusted-root": "trusted_root.json",
			"fulcio-url": stack["CACHET_STACK_FULCIO_URL"], "rekor-url": stack["CACHET_STACK_REKOR_URL"],
			"timestamp-server-url": stack["CACHET_STACK_TSA_URL"] + "/api/v1/timestamp", "oidc-issuer": iss,
		}, true)
		if res.code != 0 || outputValue(outputs, "certificate-identity") != wantSAN {
			t.Fatalf("sign with the released image: exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, outputs)
		}
		vmeta := readAction(t, filepath.Join(src, "verify/action.yml"))
		res, outputs, _ = rn.exec(rel["image"], vmeta.Runs.Args, withDefaults(vmeta, map[string]string{
			"artifacts": "app.tar.gz", "trusted-root": "trusted_root.json", "certificate-identity": wantSAN,
			"certificate-oidc-issuer": iss,
		}), false)
		if res.code != 0 || outputValue(outputs, "verified") != "1" {
			t.Fatalf("verify with the released image: exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, outputs)
		}
	})

	t.Run("setup action", func(t *testing.T) {
		id, _ := api.Release("cachet-sign/cachet", "v1.4.0")
		install := func(t *testing.T) (result, string, string) {
			t.Helper()
			d := t.TempDir()
			ghPath := filepath.Join(d, "github_path")
			writeFile(t, ghPath, "")
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + d, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
				"RUNNER_TOOL_CACHE=" + filepath.Join(d, "toolcache"), "RUNNER_TEMP=" + d, "GITHUB_PATH=" + ghPath,
				"GITHUB_OUTPUT=" + filepath.Join(d, "github_output"), "GITHUB_SERVER_URL=" + api.URL,
				"CACHET_TRUSTED_ROOT=" + stack["CACHET_STACK_TRUSTED_ROOT"], "CACHET_OIDC_ISSUER=" + iss}
			r := run(t, d, env, filepath.Join(src, "setup/install.sh"))
			p, _ := os.ReadFile(ghPath)
			return r, strings.TrimSpace(string(p)), filepath.Join(d, "toolcache")
		}
		r, path, _ := install(t)
		if r.code != 0 || path == "" {
			t.Fatalf("install: exit %d, GITHUB_PATH %q\n%s%s", r.code, path, r.stdout, r.stderr)
		}
		v := run(t, ws, plain, filepath.Join(path, "cachet"), "version")
		if v.code != 0 || strings.TrimSpace(v.stdout) != "cachet v1.4.0" {
			t.Fatalf("installed cachet: %q %s", v.stdout, v.stderr)
		}
		good := readNonEmpty(t, filepath.Join(dist, "cachet-linux-amd64"))
		for _, bad := range []struct {
			name, asset, from, why string
		}{
			{"binary not in SHA256SUMS", "cachet-linux-amd64", "cachet-linux-arm64", "refusing it"},
			{"bundle of another binary", "cachet-linux-amd64.sigstore.json", "cachet-darwin-amd64.sigstore.json", "does not verify"},
		} {
			t.Run(bad.name, func(t *testing.T) {
				orig := api.Assets(id)[bad.asset].Data
				repl, err := os.ReadFile(filepath.Join(dist, bad.from))
				if err != nil {
					t.Fatal(err)
				}
				if !api.SetAssetData(id, bad.asset, repl) {
					t.Fatalf("no asset %s", bad.asset)
				}
				defer api.SetAssetData(id, bad.asset, orig)
				r, path, cache := install(t)
				if r.code == 0 || path != "" || !strings.Contains(r.stderr, bad.why) {
					t.Fatalf("exit %d, GITHUB_PATH %q, want a refusal saying %q\n%s", r.code, path, bad.why, r.stderr)
				}
				var left []string
				filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
					if err == nil && !fi.IsDir() {
						left = append(left, p)
					}
					return nil
				})
				if len(left) > 0 {
					t.Fatalf("a refused install left files in the tool cache: %v", left)
				}
			})
		}
		if len(good) == 0 {
			t.Fatal("no built binary")
		}
	})
}
