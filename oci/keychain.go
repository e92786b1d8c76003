package oci

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// githubKeychain answers for ghcr.io with the job's GITHUB_TOKEN (which needs
// `permissions: packages: write` to push). The docker config keychain is asked first:
// a `docker login` to ghcr.io wins.
type githubKeychain struct {
	getenv func(string) string
}

func (k *githubKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.getenv == nil || r.RegistryStr() != "ghcr.io" {
		return authn.Anonymous, nil
	}
	tok := k.getenv("GITHUB_TOKEN")
	if tok == "" {
		return authn.Anonymous, nil
	}
	user := k.getenv("GITHUB_ACTOR")
	if user == "" {
		user = "cachet"
	}
	return &authn.Basic{Username: user, Password: tok}, nil
}
