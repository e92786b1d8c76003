package oci

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/ocitest"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Both ways a registry lists referrers: the OCI 1.1 referrers API, and the fallback tag
// index for registries without it (the e2e tests run the real distribution registry,
// which has none).
func TestAttachAndList(t *testing.T) {
	for _, api := range []bool{true, false} {
		host := ocitest.Registry(t, api)
		img := ocitest.Push(t, host+"/o/app:v1")
		c := &Client{Keychain: authn.NewMultiKeychain()}
		got, err := c.Resolve(t.Context(), host+"/o/app:v1")
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		if got.Descriptor.Digest != d || got.FromTag != "v1" {
			t.Fatalf("resolved %+v, want %s", got, d)
		}
		if err := c.CheckPush(t.Context(), got); err != nil {
			t.Fatal(err)
		}
		b1, b2 := []byte(`{"bundle":1}`), []byte(`{"bundle":2}`)
		h1, err := c.Attach(t.Context(), got, b1, "https://slsa.dev/provenance/v1")
		if err != nil {
			t.Fatalf("api=%v: %v", api, err)
		}
		if _, err := c.Attach(t.Context(), got, b2, "https://spdx.dev/Document"); err != nil {
			t.Fatal(err)
		}
		refs, err := c.Bundles(t.Context(), got)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 2 {
			t.Fatalf("api=%v: %d referrers, want 2", api, len(refs))
		}
		found := false
		for _, r := range refs {
			if r.Manifest == h1 && bytes.Equal(r.Bundle, b1) && r.PredicateType == "https://slsa.dev/provenance/v1" {
				found = true
			}
		}
		if !found {
			t.Fatalf("api=%v: first bundle not listed: %+v", api, refs)
		}
		// Another image has none.
		ocitest.Push(t, host+"/o/app:v2")
		og, err := c.Resolve(t.Context(), host+"/o/app:v2")
		if err != nil {
			t.Fatal(err)
		}
		if refs, err := c.Bundles(t.Context(), og); err != nil || len(refs) != 0 {
			t.Fatalf("other image: %v %v", refs, err)
		}
	}
}

func TestResolveRefuses(t *testing.T) {
	host := ocitest.Registry(t, false)
	c := &Client{Keychain: authn.NewMultiKeychain()}
	for _, ref := range []string{host + "/o/app:missing", host + "/o/app@sha256:" + strings.Repeat("a", 64)} {
		if _, err := c.Resolve(t.Context(), ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := c.Resolve(t.Context(), "not a reference"); err == nil {
		t.Error("a bad reference resolved")
	}
}

func TestGitHubKeychain(t *testing.T) {
	env := map[string]string{"GITHUB_TOKEN": "t0ken", "GITHUB_ACTOR": "octocat"}
	k := &githubKeychain{getenv: func(k string) string { return env[k] }}
	ghcr, _ := name.NewRegistry("ghcr.io")
	a, _ := k.Resolve(ghcr)
	cfg, _ := a.Authorization()
	if cfg.Username != "octocat" || cfg.Password != "t0ken" {
		t.Fatalf("ghcr.io: %+v", cfg)
	}
	other, _ := name.NewRegistry("registry.example.com")
	if a, _ := k.Resolve(other); a != authn.Anonymous {
		t.Fatal("the GitHub token was offered to another registry")
	}
}
