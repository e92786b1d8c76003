package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// A release is signed with one Fulcio certificate, so verifying its artifacts checks
// the same certificate chain and the same SCT again for every bundle. Those two checks
// are signatures over certificate bytes and do not depend on when the bundle was signed;
// what does (every certificate of the chain being valid at the bundle's observed times,
// the CA's validity window in the trusted root) is checked for every bundle. trustCache
// remembers the successes of the time-independent part, keyed by the exact DER, for one
// trusted root: a Verifier owns one, built for its root, and nothing else reaches it.
//
// The cache serves only what sigstore-go would accept: a hit still runs every check
// that depends on the bundle (times, the leaf's unhandled critical extensions), a
// failure is never stored, and a bundle the cache does not fit (a key, a chain of
// intermediates, a trusted material whose content may change) takes sigstore-go's own
// path.
type trustCache struct {
	tm   *root.TrustedRoot // the root every entry was verified against
	cas  []root.CertificateAuthority
	tsas []root.TimestampingAuthority // the root's, each Sigstore TSA as a cachedTSA

	mu        sync.Mutex
	chains    map[[sha256.Size]byte][][]*x509.Certificate // chainKey(CA index, leaf DER) -> chains verified at some time
	scts      map[[sha256.Size]byte]struct{}              // sctKey(leaf DER, issuer DERs) -> SCT verified
	tsaChains map[[sha256.Size]byte][][]*x509.Certificate // tsaChainKey(TSA index, signer and token certificate DERs) -> chains
	// tsaVerified: SHA-256 of TSA index + token + signature -> the accepted timestamp
	tsaVerified map[[sha256.Size]byte]root.Timestamp
	// locks: one fill of an entry at a time (keyLocks)
	locks keyLocks
}

// maxCacheEntries bounds each map: a run over artifacts signed with many certificates
// keeps the first ones and verifies the rest uncached.
const maxCacheEntries = 1 << 14

// newTrustCache returns a cache for tm, or nil when tm is not a parsed trusted root: a
// LiveTrustedRoot or another TrustedMaterial may change under us.
func newTrustCache(tm root.TrustedMaterial) *trustCache {
	tr, ok := tm.(*root.TrustedRoot)
	if !ok {
		return nil
	}
	c := &trustCache{tm: tr, cas: tr.FulcioCertificateAuthorities(),
		chains: map[[sha256.Size]byte][][]*x509.Certificate{}, scts: map[[sha256.Size]byte]struct{}{}, tsaChains: map[[sha256.Size]byte][][]*x509.Certificate{},
		tsaVerified: map[[sha256.Size]byte]root.Timestamp{}}
	for i, a := range tr.TimestampingAuthorities() {
		if sa, ok := a.(*root.SigstoreTimestampingAuthority); ok {
			a = &cachedTSA{tsa: sa, c: c, idx: i}
		}
		c.tsas = append(c.tsas, a)
	}
	return c
}

// bundleTrust is the trusted material one bundle's verification sees: the cached root,
// with its Fulcio CAs replaced by one that verifies the chain through the cache and then
// the SCT, in the order sigstore-go does (chain at each observed time, then the SCT of
// the chains found at the last one). The SCT result is kept in st for the caller, which
// runs sigstore-go without its own SCT check.
type bundleTrust struct {
	*root.TrustedRoot
	c  *trustCache
	st *bundleState
}

// bundleState is what the CA of one bundle's verification saw.
type bundleState struct {
	requireSCT  bool
	chainCalls  int   // chain verifications asked for (one per observed time)
	chainFailed bool  // one of them failed: sigstore-go reports that, before any SCT
	sctErr      error // the SCT check of the last chain verification
}

func (t *bundleTrust) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{(*bundleCA)(t)}
}

func (t *bundleTrust) TimestampingAuthorities() []root.TimestampingAuthority { return t.c.tsas }

// bundleCA is every Fulcio CA of the root as one, tried in order as sigstore-go's
// verifyLeafCertificate does (pkg/verify/certificate.go: the first that verifies wins).
type bundleCA bundleTrust

func (ca *bundleCA) Verify(leaf *x509.Certificate, observed time.Time) ([][]*x509.Certificate, error) {
	t := (*bundleTrust)(ca)
	t.st.chainCalls++
	for i, fca := range t.c.cas {
		chains, err := t.c.verifyChain(i, fca, leaf, observed)
		if err != nil {
			continue
		}
		if t.st.requireSCT {
			t.st.sctErr = t.c.verifySCT(chains)
		}
		return chains, nil
	}
	t.st.chainFailed = true
	return nil, errors.New("leaf certificate verification failed")
}

// verifyChain is ca.Verify(leaf, observed), from the cache when leaf's chains were
// verified before and every certificate in them, and the CA's window in the trusted
// root, cover observed. crypto/x509 checks signatures, name constraints, path length
// and key usage without regard to time and validity periods at CurrentTime, so a chain
// it built once whose certificates are all valid at observed is one it builds at
// observed too.
func (c *trustCache) verifyChain(i int, ca root.CertificateAuthority, leaf *x509.Certificate, observed time.Time) ([][]*x509.Certificate, error) {
	fca, ok := ca.(*root.FulcioCertificateAuthority)
	if !ok {
		return ca.Verify(leaf, observed)
	}
	key := chainKey(i, leaf.Raw)
	lookup := func() ([][]*x509.Certificate, bool) {
		c.mu.Lock()
		cached, hit := c.chains[key]
		c.mu.Unlock()
		// x509 refuses a leaf with unhandled critical extensions before building chains;
		// sigstore-go has already removed the OtherName SAN it handles itself.
		if hit && len(leaf.UnhandledCriticalExtensions) == 0 && inWindow(fca, observed) && chainsValidAt(cached, observed) {
			return withLeaf(cached, leaf), true
		}
		return nil, false
	}
	if chains, ok := lookup(); ok {
		return chains, nil
	}
	defer c.locks.lock("chain\n" + string(key[:]))()
	if chains, ok := lookup(); ok {
		return chains, nil
	}
	chains, err := fca.Verify(leaf, observed)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.chains) < maxCacheEntries {
		c.chains[key] = chains
	}
	c.mu.Unlock()
	return chains, nil
}

// verifySCT is sigstore-go's VerifySignedCertificateTimestamp(chains, 1, root): its
// result depends only on the leaf's DER (which holds the SCTs and their times), the
// issuer of each chain and the root's CT logs, so a success is kept under those bytes.
func (c *trustCache) verifySCT(chains [][]*x509.Certificate) error {
	key, ok := sctKey(chains)
	if !ok {
		return sgverify.VerifySignedCertificateTimestamp(chains, 1, c.tm)
	}
	lookup := func() bool {
		c.mu.Lock()
		_, hit := c.scts[key]
		c.mu.Unlock()
		return hit
	}
	if lookup() {
		return nil
	}
	defer c.locks.lock("sct\n" + string(key[:]))()
	if lookup() {
		return nil
	}
	if err := sgverify.VerifySignedCertificateTimestamp(chains, 1, c.tm); err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.scts) < maxCacheEntries {
		c.scts[key] = struct{}{}
	}
	c.mu.Unlock()
	return nil
}

// inWindow is the CA validity check FulcioCertificateAuthority.Verify makes first.
func inWindow(ca *root.FulcioCertificateAuthority, t time.Time) bool {
	if !ca.ValidityPeriodStart.IsZero() && t.Before(ca.ValidityPeriodStart) {
		return false
	}
	return ca.ValidityPeriodEnd.IsZero() || !t.After(ca.ValidityPeriodEnd)
}

// chainsValidAt reports whether every certificate of every chain is valid at t, as
// crypto/x509 judges it (NotBefore <= t <= NotAfter). A zero t (x509 would use the
// current time) is never valid here, so it goes to the uncached path.
func chainsValidAt(chains [][]*x509.Certificate, t time.Time) bool {
	if t.IsZero() || len(chains) == 0 {
		return false
	}
	for _, chain := range chains {
		for _, c := range chain {
			if t.Before(c.NotBefore) || t.After(c.NotAfter) {
				return false
			}
		}
	}
	return true
}

// withLeaf returns chains with this bundle's leaf in place of the one they were built
// for (the same DER), so nothing of another bundle's parse leaks into this result.
func withLeaf(chains [][]*x509.Certificate, leaf *x509.Certificate) [][]*x509.Certificate {
	out := make([][]*x509.Certificate, len(chains))
	for i, chain := range chains {
		out[i] = append([]*x509.Certificate{leaf}, chain[1:]...)
	}
	return out
}

// chainKey names the chains of the root's CA i for a leaf DER: SHA-256 of the two,
// length-prefixed (a fixed-size key: nothing allocated per lookup).
func chainKey(i int, leaf []byte) [sha256.Size]byte {
	h := sha256.New()
	putLen(h, uint64(i))
	putLen(h, uint64(len(leaf)))
	h.Write(leaf)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// putLen writes n to h as 8 bytes, big-endian.
func putLen(h hash.Hash, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
}

// sctKey names the SCT check of chains: SHA-256 of the leaf's DER and each chain's
// issuer DER, length-prefixed; false (do not cache) for a chain without an issuer or
// with another leaf.
func sctKey(chains [][]*x509.Certificate) ([sha256.Size]byte, bool) {
	var k [sha256.Size]byte
	if len(chains) == 0 || len(chains[0]) == 0 {
		return k, false
	}
	for _, chain := range chains {
		if len(chain) < 2 || !bytes.Equal(chain[0].Raw, chains[0][0].Raw) {
			return k, false
		}
	}
	h := sha256.New()
	put := func(der []byte) {
		putLen(h, uint64(len(der)))
		h.Write(der)
	}
	put(chains[0][0].Raw)
	for _, chain := range chains {
		put(chain[1].Raw)
	}
	h.Sum(k[:0])
	return k, true
}

// keyLocks serialise, per key, the work of filling a cache entry: the goroutines that
// missed the same entry together (a signing run's first wave of bundles, all with the
// run's one leaf and TSA chain; the entries of one Rekor v2 checkpoint) verify it one
// at a time, and each after the first finds what the first stored instead of
// verifying the same bytes again. A failure stores nothing, so the next one verifies
// for itself, as before.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock takes key's lock; the returned func releases it.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
