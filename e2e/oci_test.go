package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var (
	registryOnce sync.Once
	registryErr  error
)

// buildRegistry builds (once per machine, cached) the distribution registry.
func buildRegistry(t *testing.T) {
	t.Helper()
	registryOnce.Do(func() {
		cmd := exec.Command(filepath.Join("..", "scripts", "registry", "build"))
		cmd.Stderr = os.Stderr
		registryErr = cmd.Run()
	})
	if registryErr != nil {
		t.Fatalf("scripts/registry/build: %v", registryErr)
	}
}

// startRegistry runs a distribution registry on 127.0.0.1 with storage in dir
// (scripts/registry/run) and returns its host:port; it is stopped when the test ends.
// The registry serves a socket this test bound (listenerFile), so the port cannot be
// taken by another process between being chosen and being served.
func startRegistry(t *testing.T, dir string, readonly bool) string {
	t.Helper()
	buildRegistry(t)
	sock, host := listenerFile(t)
	args := []string{"fd", dir}
	if readonly {
		args = append(args, "readonly")
	}
	cmd := exec.Command(filepath.Join("..", "scripts", "registry", "run"), args...)
	cmd.ExtraFiles = []*os.File{sock} // file descriptor 3
	logf, err := os.CreateTemp(dir, "registry-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the registry holds the socket now: when it exits, the port refuses.
	sock.Close()
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	fail := func(err error) {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("registry on %s did not start: %v\n%s", host, err, log)
	}
	// Connections queue on the socket from the start, so the first request waits for
	// the registry to serve instead of failing; it is bounded by the registry exiting.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testHTTP.Do(req)
	select {
	case <-exited:
		fail(fmt.Errorf("scripts/registry/run exited: %v", waitErr))
	default:
	}
	if err != nil {
		fail(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET /v2/: %s", resp.Status))
	}
	return host
}

// pushRandom pushes a random image to ref and returns its digest.
func pushRandom(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// referrers lists what the registry holds for digest, the way a client finds them:
// the referrers API, or the fallback tag index (sha256-<hex>) when there is none.
func referrers(t *testing.T, host, repo string, d v1.Hash) (api bool, idx *v1.IndexManifest) {
	t.Helper()
	resp, err := testHTTP.Get(fmt.Sprintf("http://%s/v2/%s/referrers/%s", host, repo, d))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	api = resp.StatusCode == http.StatusOK
	dg, err := name.NewDigest(fmt.Sprintf("%s/%s@%s", host, repo, d))
	if err != nil {
		t.Fatal(err)
	}
	ii, err := remote.Referrers(dg, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("referrers of %s: %v", dg, err)
	}
	idx, err = ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return api, idx
}

func cosignImage(t *testing.T, dir string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")}
	return run(t, dir, env, stack["CACHET_STACK_COSIGN"], args...)
}

func cachetVerifyImage(t *testing.T, dir, image string, extra ...string) result {
	t.Helper()
	args := append([]string{"verify", "--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"],
		"--certificate-identity", wantSAN, "--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"],
		"--repository", "octo-org/octo-repo", "--image", image}, extra...)
	return run(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, cachetBin, args...)
}

// TestOCIAttestImageByDigest is issue 9's image path on a real registry (CNCF
// distribution v3, on loopback): a tag is resolved and the digest attested; the bundle
// is attached as an OCI 1.1 referrer (this registry has no referrers API, so through the
// sha256-<hex> fallback tag index); cachet verify --image and cosign verify /
// verify-attestation accept it; the same tag pushed again at another image does not
// inherit the attestation.
func TestOCIAttestImageByDigest(t *testing.T) {
	ws := t.TempDir()
	host := startRegistry(t, t.TempDir(), false)
	repo := "octo-org/app"
	tag := host + "/" + repo + ":v1"
	d := pushRandom(t, tag)
	byDigest := host + "/" + repo + "@" + d.String()

	bundle := filepath.Join(ws, "image.sigstore.json")
	r := run(t, ws, jobEnv(t, ws), cachetBin, append(append([]string{"attest", "--bundle", bundle}, stackFlags()...),
		"--push-to-registry", "--subject-name", tag)...)
	if r.code != 0 {
		t.Fatalf("cachet attest --push-to-registry exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "resolved "+tag+" to "+byDigest) {
		t.Fatalf("the tag was not reported resolved to its digest: %s", r.stderr)
	}
	out, _ := os.ReadFile(filepath.Join(ws, "github_output"))
	_, attDigest, _ := strings.Cut(string(out), "attestation-digest<<_GitHubActionsFileCommandDelimeter_\n")
	attDigest, _, _ = strings.Cut(attDigest, "\n")
	if !strings.HasPrefix(attDigest, "sha256:") || !bytes.Contains(out, []byte("bundle-path<<")) {
		t.Fatalf("outputs: %s", out)
	}
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("bundle not written: %v", err)
	}

	// The registry lists the referrer for the image's digest.
	api, idx := referrers(t, host, repo, d)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest.String() != attDigest ||
		idx.Manifests[0].ArtifactType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Fatalf("referrers of %s: %+v", d, idx.Manifests)
	}
	t.Logf("registry referrers API: %v (false: listed through the fallback tag %s)", api, strings.Replace(d.String(), ":", "-", 1))
	man, err := remote.Get(mustDigest(t, host+"/"+repo+"@"+attDigest), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ArtifactType string         `json:"artifactType"`
		Subject      *v1.Descriptor `json:"subject"`
		Layers       []v1.Descriptor
		Annotations  map[string]string
	}
	if err := json.Unmarshal(man.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != d || len(m.Layers) != 1 ||
		m.Annotations["dev.sigstore.bundle.predicateType"] != "https://slsa.dev/provenance/v1" {
		t.Fatalf("referrer manifest: %s", man.Manifest)
	}

	// cachet verify, by tag (resolved) and by digest.
	for _, ref := range []string{tag, byDigest} {
		if v := cachetVerifyImage(t, ws, ref, "--type", "slsaprovenance1"); v.code != 0 || !strings.Contains(v.stdout, "1 verified, 0 failed") {
			t.Fatalf("cachet verify --image %s: exit %d: %s%s", ref, v.code, v.stdout, v.stderr)
		}
	}
	if v := cachetVerifyImage(t, ws, byDigest, "--type", "spdx"); v.code != 1 || !strings.Contains(v.stdout, "predicate-type-mismatch") {
		t.Fatalf("cachet verify --type spdx: exit %d: %s", v.code, v.stdout)
	}

	// cosign v3.1.3 (the new bundle format is its default for verify).
	common := []string{"--trusted-root", stack["CACHET_STACK_TRUSTED_ROOT"], "--certificate-identity", wantSAN,
		"--certificate-oidc-issuer", stack["CACHET_STACK_OIDC_ISSUER"], "--allow-http-registry"}
	if v := cosignImage(t, ws, append(append([]string{"verify"}, common...), byDigest)...); v.code != 0 {
		t.Fatalf("cosign verify: %s%s", v.stdout, v.stderr)
	} else {
		t.Logf("cosign verify: %s", firstLines(v.stderr, 3))
	}
	if v := cosignImage(t, ws, append(append([]string{"verify-attestation", "--type", "slsaprovenance1"}, common...), byDigest)...); v.code != 0 {
		t.Fatalf("cosign verify-attestation: %s%s", v.stdout, v.stderr)
	} else {
		t.Logf("cosign verify-attestation: %s", firstLines(v.stderr, 3))
	}
	if v := cosignImage(t, ws, append(append([]string{"verify-attestation", "--type", "spdx"}, common...), byDigest)...); v.code == 0 {
		t.Fatal("cosign verify-attestation --type spdx accepted provenance")
	}

	// Move the tag to another image: the attestation stays with the old digest.
	d2 := pushRandom(t, tag)
	if d2 == d {
		t.Fatal("random images collided")
	}
	v := cachetVerifyImage(t, ws, tag, "--type", "slsaprovenance1")
	if v.code != 1 || !strings.Contains(v.stdout, "no Sigstore bundle is attached to "+host+"/"+repo+"@"+d2.String()) {
		t.Fatalf("re-pushed tag: exit %d: %s%s", v.code, v.stdout, v.stderr)
	}
	if v := cosignImage(t, ws, append(append([]string{"verify"}, common...), tag)...); v.code == 0 {
		t.Fatalf("cosign verify accepted the re-pushed tag: %s", v.stdout)
	}
	if v := cachetVerifyImage(t, ws, byDigest, "--type", "slsaprovenance1"); v.code != 0 {
		t.Fatalf("the old digest lost its attestation: %s", v.stdout)
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	return strings.Join(l[:min(n, len(l))], " | ")
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOCIRefusalsPushNothing: a tag that does not resolve, and a registry that refuses
// the push (read-only), fail clearly; nothing is attached and no bundle is written.
func TestOCIRefusalsPushNothing(t *testing.T) {
	ws := t.TempDir()
	storage := t.TempDir()
	host := startRegistry(t, storage, false)
	roHost := startRegistry(t, storage, true) // same storage, refuses writes
	repo := "octo-org/app"
	d := pushRandom(t, host+"/"+repo+":v1")
	bundle := filepath.Join(ws, "image.sigstore.json")
	attest := func(subject ...string) result {
		args := append(append([]string{"attest", "--bundle", bundle}, stackFlags()...), "--push-to-registry")
		return run(t, ws, jobEnv(t, ws), cachetBin, append(args, subject...)...)
	}

	r := attest("--subject-name", host+"/"+repo+":no-such-tag")
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "does not resolve") {
		t.Errorf("unknown tag: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	r = attest("--subject-name", host+"/"+repo, "--subject-digest", "sha256:"+strings.Repeat("ab", 32))
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "does not resolve") {
		t.Errorf("unknown digest: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	r = attest("--subject-name", roHost+"/"+repo+":v1")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "refuses pushes") {
		t.Errorf("read-only registry: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "codesign.keyless.attested") || strings.Contains(r.stderr, "log index") {
		t.Errorf("read-only registry: something was signed before the push was refused: %s", r.stderr)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "::error") {
			t.Logf("read-only registry: %s", l)
		}
	}
	if _, err := os.Stat(bundle); err == nil {
		t.Fatal("a bundle was written for an attestation the registry refused")
	}
	if _, idx := referrers(t, host, repo, d); len(idx.Manifests) != 0 {
		t.Fatalf("something was attached: %+v", idx.Manifests)
	}
}

// testHTTP is the tests' client: never one without a timeout.
var testHTTP = &http.Client{Timeout: 30 * time.Second}
