// Package oci signs container images by digest: it resolves a reference to the digest
// of its manifest (a tag is only ever a way to find a digest), attaches Sigstore bundles
// to that manifest as OCI 1.1 referrers (artifact type
// application/vnd.dev.sigstore.bundle.v0.3+json, the layout cosign v3 writes and reads),
// and lists them back. On a registry without the referrers API, go-containerregistry
// keeps the fallback tag index (sha256-<hex>) that the OCI distribution spec defines.
//
// It never attaches to a tag, and it refuses a reference that does not resolve.
// Credentials come from the docker config keychain, and GITHUB_TOKEN for ghcr.io.
package oci

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BundleArtifactType is the artifact type (and layer media type) of a referrer that
// holds a Sigstore bundle.
const BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Annotations cosign writes on bundle referrers (cosign pkg/oci/remote/write.go).
const (
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationContent       = "dev.sigstore.bundle.content"
	annotationCreated       = "org.opencontainers.image.created"
)

// errNotBundle marks a referrer that is not a Sigstore bundle for this image.
var errNotBundle = errors.New("not a Sigstore bundle referrer")

// emptyMediaType is the OCI empty descriptor's media type (the config of artifacts).
const emptyMediaType = "application/vnd.oci.empty.v1+json"

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// MaxBundleSize bounds a referrer's bundle layer read back from a registry.
const MaxBundleSize = 16 << 20

// ErrNotFound means the reference does not resolve to a manifest.
var ErrNotFound = errors.New("oci: no such image")

// Client talks to registries.
type Client struct {
	// Keychain supplies credentials; the docker config keychain plus GITHUB_TOKEN for
	// ghcr.io when nil.
	Keychain authn.Keychain
	// Getenv reads GITHUB_TOKEN and GITHUB_ACTOR for the default keychain.
	Getenv func(string) string
	// InsecureHTTP allows plain http to any registry (loopback and private addresses use
	// http anyway, as go-containerregistry decides).
	InsecureHTTP bool
	// Transport carries requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Now stamps the referrer's creation annotation.
	Now func() time.Time
}

func (c *Client) nameOpts() []name.Option {
	opts := []name.Option{name.StrictValidation}
	if c.InsecureHTTP {
		opts = append(opts, name.Insecure)
	}
	return opts
}

func (c *Client) remoteOpts(ctx context.Context) []remote.Option {
	kc := c.Keychain
	if kc == nil {
		kc = authn.NewMultiKeychain(authn.DefaultKeychain, &githubKeychain{getenv: c.Getenv})
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithUserAgent("cachet")}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	return opts
}

// Image is a manifest in a repository, by digest.
type Image struct {
	Digest     name.Digest
	Descriptor v1.Descriptor
	// FromTag is the tag it was resolved from, if any: for messages, never for signing.
	FromTag string
}

// Resolve turns a reference into the digest of its manifest. A tag is looked up (HEAD)
// once, and the digest is what is signed from then on; a digest reference is checked to
// exist. A reference with neither tag nor digest is refused rather than read as :latest.
func (c *Client) Resolve(ctx context.Context, ref string) (*Image, error) {
	r, err := name.ParseReference(ref, c.nameOpts()...)
	if err != nil {
		return nil, fmt.Errorf("oci: %q is not an image reference (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX): %w", ref, err)
	}
	desc, err := remote.Head(r, c.remoteOpts(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s does not resolve to a manifest: %v", ErrNotFound, ref, err)
		}
		return nil, fmt.Errorf("oci: resolve %s: %w", ref, err)
	}
	img := &Image{Digest: r.Context().Digest(desc.Digest.String()), Descriptor: *desc}
	if d, ok := r.(name.Digest); ok {
		if d.DigestStr() != desc.Digest.String() {
			return nil, fmt.Errorf("oci: %s: the registry answered digest %s", ref, desc.Digest)
		}
	} else {
		img.FromTag = r.Identifier()
	}
	return img, nil
}

// Repository parses a repository name (REGISTRY/REPO, no tag or digest).
func (c *Client) Repository(repo string) (name.Repository, error) {
	return name.NewRepository(repo, c.nameOpts()...)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// CheckPush asks the registry whether we may push to img's repository (it starts an
// upload and cancels it), so that a registry that will refuse the bundle is found before
// anything is signed or logged.
func (c *Client) CheckPush(ctx context.Context, img *Image) error {
	kc := c.Keychain
	if kc == nil {
		kc = authn.NewMultiKeychain(authn.DefaultKeychain, &githubKeychain{getenv: c.Getenv})
	}
	t := c.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	if err := remote.CheckPushPermission(img.Digest, kc, t); err != nil {
		return fmt.Errorf("oci: the registry refuses pushes to %s (for ghcr.io give the job `permissions: packages: write`): %w", img.Digest.Context(), err)
	}
	return nil
}

// referrerManifest is an OCI 1.1 image manifest with artifactType (go-containerregistry's
// v1.Manifest lacks the field).
type referrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

type rawManifest struct {
	raw []byte
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Attach uploads bundle as a referrer of img and returns the referrer manifest's
// digest. Blobs go first, the manifest last: a registry that refuses the push leaves no
// referrer. On a registry without the referrers API the fallback tag index is updated.
func (c *Client) Attach(ctx context.Context, img *Image, bundleJSON []byte, predicateType string) (v1.Hash, error) {
	repo := img.Digest.Context()
	opts := c.remoteOpts(ctx)
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return v1.Hash{}, err
	}
	layerDigest, layerSize, err := v1.SHA256(bytes.NewReader(bundleJSON))
	if err != nil {
		return v1.Hash{}, err
	}
	for _, blob := range []struct {
		data []byte
		mt   types.MediaType
	}{{emptyConfig, emptyMediaType}, {bundleJSON, BundleArtifactType}} {
		if err := remote.WriteLayer(repo, static.NewLayer(blob.data, blob.mt), opts...); err != nil {
			return v1.Hash{}, fmt.Errorf("oci: push bundle to %s: %w", repo, err)
		}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ann := map[string]string{annotationCreated: now().UTC().Format(time.RFC3339), AnnotationContent: "dsse-envelope"}
	if predicateType != "" {
		ann[AnnotationPredicateType] = predicateType
	}
	m := referrerManifest{Manifest: v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: emptyMediaType, ArtifactType: BundleArtifactType,
			Digest: cfgDigest, Size: cfgSize},
		Layers:      []v1.Descriptor{{MediaType: BundleArtifactType, Digest: layerDigest, Size: layerSize}},
		Subject:     &v1.Descriptor{MediaType: img.Descriptor.MediaType, Digest: img.Descriptor.Digest, Size: img.Descriptor.Size},
		Annotations: ann,
	}, ArtifactType: BundleArtifactType}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(repo.Digest(h.String()), rawManifest{raw}, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("oci: push referrer manifest to %s: %w", repo, err)
	}
	return h, nil
}

// Referrer is one Sigstore bundle attached to an image.
type Referrer struct {
	Manifest      v1.Hash
	PredicateType string // from the manifest's annotation; informational, not verified
	Bundle        []byte
}

// Bundles lists the Sigstore bundles attached to img (referrers API, or the fallback tag
// index). Referrers of other artifact types are skipped.
func (c *Client) Bundles(ctx context.Context, img *Image) ([]Referrer, error) {
	opts := c.remoteOpts(ctx)
	// No artifactType filter: some registries report the config media type as the
	// descriptor's artifactType; each manifest is checked below instead.
	idx, err := remote.Referrers(img.Digest, opts...)
	if err != nil {
		return nil, fmt.Errorf("oci: list referrers of %s: %w", img.Digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("oci: referrers of %s: %w", img.Digest, err)
	}
	var out []Referrer
	for _, d := range im.Manifests {
		if d.ArtifactType != BundleArtifactType && d.ArtifactType != emptyMediaType && d.ArtifactType != "" {
			continue
		}
		r, err := c.bundle(ctx, img.Digest.Context().Digest(d.Digest.String()), img.Descriptor.Digest)
		if errors.Is(err, errNotBundle) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

func (c *Client) bundle(ctx context.Context, ref name.Digest, subject v1.Hash) (*Referrer, error) {
	desc, err := remote.Get(ref, c.remoteOpts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", ref, err)
	}
	var m referrerManifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", ref, err)
	}
	// A referrer that names another manifest (the fallback index is an ordinary tag
	// anyone with push access can rewrite) or holds something else is not ours to read.
	if m.Subject == nil || m.Subject.Digest != subject {
		return nil, fmt.Errorf("%w: %s does not refer to %s", errNotBundle, ref, subject)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType {
		return nil, fmt.Errorf("%w: %s has no single %s layer", errNotBundle, ref, BundleArtifactType)
	}
	if m.Layers[0].Size > MaxBundleSize {
		return nil, fmt.Errorf("oci: referrer %s: bundle layer of %d bytes", ref, m.Layers[0].Size)
	}
	l, err := remote.Layer(ref.Context().Digest(m.Layers[0].Digest.String()), c.remoteOpts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", ref, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", ref, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", ref, err)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != m.Layers[0].Digest {
		return nil, fmt.Errorf("oci: referrer %s: bundle layer digest mismatch", ref)
	}
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return nil, err
	}
	return &Referrer{Manifest: h, PredicateType: m.Annotations[AnnotationPredicateType], Bundle: data}, nil
}

// ErrNotRepository: a digest was given with a name that is not a plain repository.
var ErrNotRepository = errors.New("oci: with a digest, the name must be a repository (REGISTRY/REPO)")

// ResolveSubject resolves the image an attestation is about: name (REGISTRY/REPO:TAG or
// @sha256:HEX), or with digest (sha256:HEX) the repository name at that digest; a tag is
// resolved once, here. It then checks the registry takes pushes there, and returns the
// image with its in-toto subject (the repository name and the manifest digest).
func (c *Client) ResolveSubject(ctx context.Context, ref, digest string) (*Image, string, []byte, error) {
	if digest != "" {
		repo, err := c.Repository(ref)
		if err != nil {
			return nil, "", nil, fmt.Errorf("%w: %q: %v", ErrNotRepository, ref, err)
		}
		ref = repo.String() + "@" + digest
	}
	img, err := c.Resolve(ctx, ref)
	if err != nil {
		return nil, "", nil, err
	}
	if err := c.CheckPush(ctx, img); err != nil {
		return nil, "", nil, err
	}
	d, err := hex.DecodeString(img.Descriptor.Digest.Hex)
	if err != nil {
		return nil, "", nil, fmt.Errorf("oci: digest %s: %w", img.Descriptor.Digest, err)
	}
	return img, img.Digest.Context().Name(), d, nil
}
