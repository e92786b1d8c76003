package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/cachet-sign/cachet/trust"
	"github.com/sethvargo/go-githubactions"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// tufFlags name the TUF repository trust comes from when no trusted root is given.
type tufFlags struct {
	url, root string
	staging   bool // the Sigstore staging instance's repository (verify, verify-bundle)
}

func (t *tufFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.url, "tuf-url", "", "TUF repository publishing trusted_root.json and signing_config.v0.2.json, used without --trusted-root; default $"+trust.URLEnv+", else "+trust.PublicGoodRepository)
	fs.StringVar(&t.root, "tuf-root", "", "initial root.json of that TUF repository (a private Sigstore), distributed out of band; default $"+trust.RootEnv+", else sigstore-go's embedded public-good TUF root")
}

func (t *tufFlags) repository() trust.Repository {
	return trust.Repository{URL: t.url, RootPath: t.root, Staging: t.staging}
}

// tufHint names the flags a trust.Repository error is about.
func tufHint(err error) error {
	var rfe *trust.RootFileError
	switch {
	case errors.Is(err, trust.ErrRootWithoutURL):
		return usagef("--tuf-root (%s) needs --tuf-url (%s): the repository that root signs", trust.RootEnv, trust.URLEnv)
	case errors.Is(err, trust.ErrStagingAndRepository):
		return usagef("--staging names the staging TUF repository: give it or --tuf-url/--tuf-root, not both")
	case errors.As(err, &rfe):
		return usagef("--tuf-root: %v", rfe.Err)
	}
	return err
}

// signingTrustedRoot is the trusted root a signing command checks its bundles (and the
// services' answers) against: --trusted-root, else the trust envelope given as
// --signing-config (applySigningConfig names it), else an imported trust cache, else
// the TUF repository's, valid by TUF's rules or refreshed now. Never expired TUF trust
// nor the embedded snapshot: they may predate a key rotation, so a run against them
// would either fail late or trust a retired key. sign.Setup.Resolved then follows the
// signing config that came with it (keyless runs without --signing-config), fills the
// defaults and checks the log; f.setup.TrustedRoot names the file used.
func signingTrustedRoot(e *env, f *signFlags) (*root.TrustedRoot, error) {
	r, err := resolveTrustedRoot(e, f.setup.TrustedRoot, false, &f.tuf)
	if err != nil {
		return nil, err
	}
	f.setup.KeyMode, f.setup.TLogUpload = f.key != "", f.tlogUpload
	if err := f.setupHint(f.setup.Resolved(r)); err != nil {
		return nil, err
	}
	return r.TrustedRoot, nil
}

// resolveTrustedRoot resolves and, unless the root was named, says on stderr which one
// is used, and warns when it may be out of date (an annotation too, in Actions).
func resolveTrustedRoot(e *env, path string, verifying bool, tf *tufFlags) (*trust.Resolved, error) {
	o := trust.ResolveOptions{File: path, Dir: trust.DefaultDir(e.getenv), Embedded: verifying, RefuseStale: !verifying}
	if path == "" {
		var err error
		if o.TUF, o.TUFNamed, err = tf.repository().RefreshOptions(e.getenv); err != nil {
			return nil, tufHint(err)
		}
	}
	r, err := trust.Resolve(o)
	if err != nil {
		return nil, explainTrust(err, path, verifying, o)
	}
	notice, warning := r.Notice("pass --trusted-root")
	if notice != "" {
		fmt.Fprintln(e.stderr, notice)
	}
	if warning != "" {
		if e.inActions() {
			// On stderr: stdout may be a JSON report.
			githubactions.New(githubactions.WithGetenv(e.getenv), githubactions.WithWriter(e.stderr)).Warningf("%s", warning)
		} else {
			fmt.Fprintln(e.stderr, "warning:", warning)
		}
	}
	return r, nil
}

// explainTrust adds the fix to a resolution that failed.
func explainTrust(err error, path string, verifying bool, o trust.ResolveOptions) error {
	const explicit = "pass --trusted-root FILE (a trusted_root.json or a `cachet trust export` file)"
	var stale *trust.StaleError
	switch {
	case path != "":
		return usagef("--trusted-root %s: %v", path, err)
	case errors.As(err, &stale):
		return usagef("%v; import a newer `cachet trust export`, run `cachet trust refresh`, or pass --trusted-root", err)
	case errors.Is(err, trust.ErrNoCacheDir):
		return usagef("no trusted root: %v for the TUF cache, or %s", err, explicit)
	case errors.Is(err, trust.ErrCacheNotWritable):
		return usagef("%v: set %s to a writable directory, or %s", err, trust.DirEnv, explicit)
	case errors.Is(err, trust.ErrTUFUnreachable) && !verifying:
		return fmt.Errorf("no trusted root: %v, and the trust cache %s holds no valid copy of its trust; "+
			"signing never uses expired or embedded trust (a key may have been rotated or retired since): "+
			"make %s reachable (or name a reachable mirror with --tuf-url / %s), or %s and --signing-config for an air-gapped run",
			err, o.Dir, o.TUF.Repository(), trust.URLEnv, explicit)
	case errors.Is(err, trust.ErrTUFUnreachable):
		return fmt.Errorf("no trusted root: %v, and the trust cache %s holds nothing of it: make it reachable, or %s", err, o.Dir, explicit)
	case errors.Is(err, trust.ErrTUFRefused):
		return fmt.Errorf("no trusted root: %v; check --tuf-url and --tuf-root (%s, %s), or %s", err, trust.URLEnv, trust.RootEnv, explicit)
	}
	return usagef("%v", err)
}

// registerSigningConfig adds --signing-config and the TUF flags (sign, attest, release).
func (f *signFlags) registerSigningConfig(fs *flag.FlagSet) {
	f.tuf.register(fs)
	fs.StringVar(&f.setup.SigningConfig, "signing-config", "", "Sigstore signing config v0.2 choosing Fulcio, Rekor and TSAs (validFor, majorApiVersion, selectors), or a cachet trust export file (which brings the trusted root too); default the TUF repository's (as cosign v3); --fulcio-url, --rekor-url and --timestamp-server-url given explicitly win")
}
