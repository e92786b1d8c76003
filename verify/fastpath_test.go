package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/trust/publicgood"
	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// fastPair is a verifier with the fast path and one without it, same root and policy.
type fastPair struct{ fast, slow *Verifier }

func newFastPair(t testing.TB, tm root.TrustedMaterial, p func() *Policy) fastPair {
	t.Helper()
	fast, err := New(tm, p())
	if err != nil {
		t.Fatal(err)
	}
	slow, err := New(tm, p())
	if err != nil {
		t.Fatal(err)
	}
	slow.fast = nil
	return fastPair{fast, slow}
}

// differential runs the fast path on bundle data for artifact digest: not handled, or
// accepted with the Result the slow path gives (which must accept). It reports
// whether the fast path accepted.
func (fp fastPair) differential(t testing.TB, name string, digest, data []byte) bool {
	t.Helper()
	if fp.fast.fast == nil {
		t.Fatalf("%s: no fast path for this policy", name)
	}
	// The file is written only when the fast path accepts: the fuzz target runs this
	// for every input.
	var got Result
	if !fp.fast.fastAccept(digest, data, &got) {
		return false
	}
	bundlePath := filepath.Join(t.TempDir(), "b.sigstore.json")
	if err := os.WriteFile(bundlePath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := Subject{Name: name, Digest: digest, Bundle: bundlePath}
	got.Name, got.Bundle, got.Digest = name, bundlePath, "sha256:"+hex.EncodeToString(digest)
	got.Verified = true
	want := fp.slow.Verify(t.Context(), s)
	if !want.Verified {
		t.Fatalf("%s: fast path accepted what the slow path refuses: %s", name, want.Error)
	}
	if !got.SignedAt.Equal(want.SignedAt) || got.SignedAt.Location() != want.SignedAt.Location() {
		t.Fatalf("%s: SignedAt %v, slow path %v", name, got.SignedAt, want.SignedAt)
	}
	got.SignedAt = want.SignedAt
	if got != want {
		t.Fatalf("%s: results differ:\nfast: %+v\nslow: %+v", name, got, want)
	}
	// And through Verify, which takes the fast path: the same.
	if r := fp.fast.Verify(t.Context(), s); r != want {
		t.Fatalf("%s: Verify differs:\nfast: %+v\nslow: %+v", name, r, want)
	}
	return true
}

func readJSON(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// stripTSA is a stack vector without its RFC 3161 timestamp: the bench's shape (Rekor
// v1, no TSA), in sigstore's protojson key order.
func stripTSA(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(td, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundleBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	b.VerificationMaterial.TimestampVerificationData = nil
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// LoadBundleBytes is ParseBundle for tests.
var LoadBundleBytes = ParseBundle

func sha256File(t testing.TB, path string) []byte {
	t.Helper()
	d, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(d)
	return s[:]
}

func encodeJSON(t testing.TB, b map[string]any) []byte {
	t.Helper()
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tsaVariants are a bundle with one RFC 3161 timestamp, its timestamps tampered with:
// none may be accepted by the fast path (the slow path accepts some of them: a
// repeated token, or an extra bad one, beside a good one, still counts once).
func tsaVariants(t *testing.T, good []byte) map[string][]byte {
	m := func(f func(ts []any) []any) []byte {
		var b map[string]any
		if err := json.Unmarshal(good, &b); err != nil {
			t.Fatal(err)
		}
		tvd := obj(obj(b, "verificationMaterial"), "timestampVerificationData")
		tvd["rfc3161Timestamps"] = f(tvd["rfc3161Timestamps"].([]any))
		return encodeJSON(t, b)
	}
	tok := func(ts []any) string { return ts[0].(map[string]any)["signedTimestamp"].(string) }
	flip := func(s string, at int) string {
		raw, _ := base64.StdEncoding.DecodeString(s)
		raw[at%len(raw)] ^= 1
		return base64.StdEncoding.EncodeToString(raw)
	}
	cosign := readJSON(t, filepath.Join(td, "artifact.txt.cosign.sigstore.json"))
	cosignTS := obj(obj(cosign, "verificationMaterial"), "timestampVerificationData")["rfc3161Timestamps"].([]any)
	return map[string][]byte{
		"TSA token, a byte flipped at its end": m(func(ts []any) []any {
			return []any{map[string]any{"signedTimestamp": flip(tok(ts), len(tok(ts))*3/4-10)}}
		}),
		"TSA token, a byte flipped inside": m(func(ts []any) []any {
			return []any{map[string]any{"signedTimestamp": flip(tok(ts), 200)}}
		}),
		"TSA token repeated":          m(func(ts []any) []any { return append(ts, ts[0]) }),
		"TSA token of another bundle": m(func([]any) []any { return cosignTS }),
		"TSA token and a bad one": m(func(ts []any) []any {
			return append(ts, map[string]any{"signedTimestamp": flip(tok(ts), 200)})
		}),
		"TSA token empty":      m(func([]any) []any { return []any{map[string]any{"signedTimestamp": ""}} }),
		"TSA token null":       m(func([]any) []any { return []any{nil} }),
		"no TSA tokens":        m(func([]any) []any { return []any{} }),
		"five TSA tokens":      m(func(ts []any) []any { return []any{ts[0], ts[0], ts[0], ts[0], ts[0]} }),
		"TSA token not base64": m(func([]any) []any { return []any{map[string]any{"signedTimestamp": "!!"}} }),
	}
}

// mutated is good decoded, changed by f and encoded again.
func mutated(t testing.TB, good []byte, f func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(good, &b); err != nil {
		t.Fatal(err)
	}
	f(b)
	return encodeJSON(t, b)
}

// bump adds d to the decimal string mm[k].
func bump(mm map[string]any, k string, d int64) {
	n, _ := strconv.ParseInt(mm[k].(string), 10, 64)
	mm[k] = strconv.FormatInt(n+d, 10)
}

// hostileVariants are the stack vector's shape changed one fault at a time: every
// field the fast path reads, tampered or out of shape.
func hostileVariants(t *testing.T, good []byte) map[string][]byte {
	other := readJSON(t, filepath.Join(td, "other.txt.sigstore.json"))
	var base map[string]any
	if err := json.Unmarshal(good, &base); err != nil {
		t.Fatal(err)
	}
	m := func(f func(b map[string]any)) []byte { return mutated(t, good, f) }
	e := tlogEntry
	v := map[string][]byte{
		"re-encoded (key order)": m(func(map[string]any) {}),
		"bad root hash":          m(func(b map[string]any) { flipB64(t, obj(e(b), "inclusionProof"), "rootHash") }),
		"bad proof hash": m(func(b map[string]any) {
			h := obj(e(b), "inclusionProof")["hashes"].([]any)
			raw, _ := base64.StdEncoding.DecodeString(h[0].(string))
			raw[0] ^= 1
			h[0] = base64.StdEncoding.EncodeToString(raw)
		}),
		"no proof hashes":    m(func(b map[string]any) { delete(obj(e(b), "inclusionProof"), "hashes") }),
		"bad SET":            m(func(b map[string]any) { flipB64(t, obj(e(b), "inclusionPromise"), "signedEntryTimestamp") }),
		"no SET":             m(func(b map[string]any) { delete(e(b), "inclusionPromise") }),
		"no proof":           m(func(b map[string]any) { delete(e(b), "inclusionProof") }),
		"bad signature":      m(func(b map[string]any) { flipB64(t, obj(b, "messageSignature"), "signature") }),
		"bad digest":         m(func(b map[string]any) { flipB64(t, obj(b, "messageSignature", "messageDigest"), "digest") }),
		"digest SHA2_384":    m(func(b map[string]any) { obj(b, "messageSignature", "messageDigest")["algorithm"] = "SHA2_384" }),
		"bad certificate":    m(func(b map[string]any) { flipB64(t, obj(b, "verificationMaterial", "certificate"), "rawBytes") }),
		"grafted body":       m(func(b map[string]any) { e(b)["canonicalizedBody"] = tlogEntry(other)["canonicalizedBody"] }),
		"bad body":           m(func(b map[string]any) { flipB64(t, e(b), "canonicalizedBody") }),
		"log index +1":       m(func(b map[string]any) { bump(e(b), "logIndex", 1) }),
		"proof log index +1": m(func(b map[string]any) { bump(obj(e(b), "inclusionProof"), "logIndex", 1) }),
		"both log indexes +1": m(func(b map[string]any) { // the SET and the proof break
			bump(e(b), "logIndex", 1)
			bump(obj(e(b), "inclusionProof"), "logIndex", 1)
		}),
		"tree size +1":        m(func(b map[string]any) { bump(obj(e(b), "inclusionProof"), "treeSize", 1) }),
		"integrated time +1":  m(func(b map[string]any) { bump(e(b), "integratedTime", 1) }),
		"integrated time 1e9": m(func(b map[string]any) { e(b)["integratedTime"] = "1000000000" }),
		"integrated time as number": m(func(b map[string]any) {
			n, _ := strconv.ParseFloat(e(b)["integratedTime"].(string), 64)
			e(b)["integratedTime"] = n
		}),
		"bad log id":    m(func(b map[string]any) { flipB64(t, obj(e(b), "logId"), "keyId") }),
		"kind dsse":     m(func(b map[string]any) { obj(e(b), "kindVersion")["kind"] = "dsse" }),
		"version 0.0.2": m(func(b map[string]any) { obj(e(b), "kindVersion")["version"] = "0.0.2" }),
		"bundle v0.2":   m(func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2" }),
		"bundle v0.4":   m(func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json" }),
		"two entries": m(func(b map[string]any) {
			vm := obj(b, "verificationMaterial")
			vm["tlogEntries"] = append(vm["tlogEntries"].([]any), e(b))
		}),
		"no entries":    m(func(b map[string]any) { delete(obj(b, "verificationMaterial"), "tlogEntries") }),
		"unknown field": m(func(b map[string]any) { b["extra"] = "x" }),
		// A name of the shape where protojson has no such field (encoding/json would
		// skip it without DisallowUnknownFields).
		"misplaced known key": m(func(b map[string]any) { b["kind"] = "hashedrekord" }),
		// The same one level down, in an entry, in a proof, in an array's element: a
		// field of another object of the shape (json.Unmarshal would skip each).
		"misplaced key in entry": m(func(b map[string]any) { e(b)["signature"] = obj(b, "messageSignature")["signature"] }),
		"misplaced key in proof": m(func(b map[string]any) { obj(e(b), "inclusionProof")["kind"] = "hashedrekord" }),
		"misplaced key in token": m(func(b map[string]any) {
			obj(b, "verificationMaterial")["timestampVerificationData"] = map[string]any{
				"rfc3161Timestamps": []any{map[string]any{"signedTimestamp": "", "rawBytes": ""}}}
		}),
		"misplaced key in digest": m(func(b map[string]any) { obj(b, "messageSignature", "messageDigest")["envelope"] = "x" }),
		"media_type":              m(func(b map[string]any) { b["media_type"], b["mediaType"] = b["mediaType"], nil }),
		"MediaType":               m(func(b map[string]any) { b["MediaType"] = b["mediaType"]; delete(b, "mediaType") }),
		"empty timestamps":        m(func(b map[string]any) { obj(b, "verificationMaterial")["timestampVerificationData"] = map[string]any{} }),
		"checkpoint tampered": m(func(b map[string]any) {
			cp := obj(e(b), "inclusionProof", "checkpoint")
			s := []byte(cp["envelope"].(string))
			s[len(s)-3] ^= 1
			cp["envelope"] = string(s)
		}),
		"checkpoint origin": m(func(b map[string]any) {
			cp := obj(e(b), "inclusionProof", "checkpoint")
			cp["envelope"] = "x" + cp["envelope"].(string)
		}),
		"public key instead of certificate": m(func(b map[string]any) {
			vm := obj(b, "verificationMaterial")
			delete(vm, "certificate")
			vm["publicKey"] = map[string]any{"hint": "x"}
		}),
		"dsse": m(func(b map[string]any) {
			b["dsseEnvelope"] = map[string]any{"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": []any{}}
			delete(b, "messageSignature")
		}),
	}
	// Raw byte-level changes that keep the JSON's meaning for encoding/json but not
	// for protojson.
	v["duplicate mediaType"] = bytes.Replace(good, []byte(`"mediaType"`), []byte(`"mediaType":"x","mediaType"`), 1)
	v["trailing value"] = append(append([]byte{}, good...), []byte(` {}`)...)
	v["escaped key"] = bytes.Replace(good, []byte(`"mediaType"`), []byte(`"media\u0054ype"`), 1)
	v["duplicate nested key"] = bytes.Replace(good, []byte(`"kind":`), []byte(`"kind":"x","kind":`), 1)
	v["null proof hash"] = bytes.Replace(good, []byte(`"hashes":[`), []byte(`"hashes":[null,`), 1)
	v["lone surrogate"] = bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":"0.0.1\ud800"`), 1)
	v["trailing garbage"] = append(append([]byte{}, good...), []byte(`x`)...)
	v["deep nesting"] = bytes.Replace(good, []byte(`"mediaType"`), []byte(`"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`,"mediaType"`), 1)
	return v
}

// TestFastPathDifferential: for every stack vector (with and without its timestamp)
// and every hostile variant, the fast path accepts only what the slow path accepts,
// with the same Result, and it does handle the good vectors of its shape.
func TestFastPathDifferential(t *testing.T) {
	v, tr := loadVectors(t)
	fp := newFastPair(t, tr, func() *Policy { return basePolicy(v) })
	art := sha256File(t, filepath.Join(td, "artifact.txt"))
	good := map[string]struct {
		digest []byte
		data   []byte
		want   bool
	}{}
	for _, n := range []string{"artifact.txt.cachet.sigstore.json", "artifact.txt.cosign.sigstore.json"} {
		orig, _ := os.ReadFile(filepath.Join(td, n))
		good[n] = struct {
			digest, data []byte
			want         bool
		}{art, orig, true} // with its RFC 3161 timestamp
		good[n+" without TSA"] = struct {
			digest, data []byte
			want         bool
		}{art, stripTSA(t, n), true}
	}
	good["other without TSA"] = struct {
		digest, data []byte
		want         bool
	}{sha256File(t, filepath.Join(td, "other.txt")), stripTSA(t, "other.txt.sigstore.json"), true}
	// Self-hosted: checkGitHub refuses, so not handled.
	good["self-hosted without TSA"] = struct {
		digest, data []byte
		want         bool
	}{sha256File(t, filepath.Join(td, "selfhosted.txt")), stripTSA(t, "selfhosted.txt.sigstore.json"), false}
	for name, g := range good {
		if got := fp.differential(t, name, g.digest, g.data); got != g.want {
			t.Errorf("%s: fast path handled %v, want %v", name, got, g.want)
		}
	}
	stripped := stripTSA(t, "artifact.txt.cachet.sigstore.json")
	withTSA, err := os.ReadFile(filepath.Join(td, "artifact.txt.cachet.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	variants := hostileVariants(t, stripped)
	for name, data := range hostileVariants(t, withTSA) {
		variants[name+" (with TSA)"] = data
	}
	for name, data := range tsaVariants(t, withTSA) {
		variants[name] = data
	}
	for name, data := range variants {
		if bytes.Equal(data, stripped) {
			t.Errorf("%s: the variant is the good bundle unchanged", name)
		}
		handled := fp.differential(t, name, art, data)
		if strings.HasPrefix(name, "re-encoded (key order)") {
			if !handled {
				t.Errorf("%s: not handled", name)
			}
			continue
		}
		if handled {
			t.Errorf("%s: hostile variant accepted by the fast path", name)
		}
	}
	// The good bundle for another artifact, and policies it does not satisfy.
	other := sha256File(t, filepath.Join(td, "other.txt"))
	if fp.differential(t, "other artifact", other, stripped) {
		t.Error("accepted for another artifact")
	}
	for name, pol := range map[string]func(p *Policy){
		"wrong identity":        func(p *Policy) { p.Identity += "x" },
		"identity regexp":       func(p *Policy) { p.Identity, p.IdentityRegexp = "", `^https://github\.com/other-org/.*$` },
		"wrong issuer":          func(p *Policy) { p.Issuer = "https://token.actions.githubusercontent.com/x" },
		"wrong repository":      func(p *Policy) { p.Repository = "octo-org/other" },
		"wrong repository id":   func(p *Policy) { p.RepositoryID = "987" },
		"wrong ref":             func(p *Policy) { p.Ref = "refs/tags/v9" },
		"wrong workflow":        func(p *Policy) { p.Workflow = "octo-org/octo-repo/.github/workflows/ci.yml" },
		"wrong event":           func(p *Policy) { p.Event = "release" },
		"wrong source digest":   func(p *Policy) { p.SourceDigest = "00" },
		"predicate type wanted": nil,
	} {
		if pol == nil {
			p := basePolicy(v)
			p.PredicateType = "slsaprovenance1"
			ver, err := New(tr, p)
			if err != nil || ver.fast != nil {
				t.Errorf("%s: fast path for a policy that wants an attestation (%v)", name, err)
			}
			continue
		}
		fp := newFastPair(t, tr, func() *Policy { p := basePolicy(v); pol(p); return p })
		if fp.differential(t, name, art, stripped) {
			t.Errorf("%s: accepted", name)
		}
	}
	// Identity by regexp that matches, the SCT not checked, one timestamp required:
	// handled, same result.
	for name, pol := range map[string]func(p *Policy){
		"identity regexp matches": func(p *Policy) { p.Identity, p.IdentityRegexp = "", `^https://github\.com/octo-org/.*$` },
		"insecure-ignore-sct":     func(p *Policy) { p.InsecureIgnoreSCT = true },
		"min-timestamps 1":        func(p *Policy) { p.MinTimestamps = 1 },
	} {
		fp := newFastPair(t, tr, func() *Policy { p := basePolicy(v); pol(p); return p })
		if !fp.differential(t, name, art, withTSA) {
			t.Errorf("%s: not handled", name)
		}
	}
	// More timestamps required than the bundle has: not accepted.
	for name, data := range map[string][]byte{"min-timestamps 1, no TSA": stripped, "min-timestamps 2, one TSA": withTSA} {
		n := 1
		if strings.Contains(name, "2") {
			n = 2
		}
		fp := newFastPair(t, tr, func() *Policy { p := basePolicy(v); p.MinTimestamps = n; return p })
		if fp.differential(t, name, art, data) {
			t.Errorf("%s: accepted", name)
		}
	}
	// A root without CT logs: the SCT cannot be checked, not handled.
	noCT, err := root.NewTrustedRoot(root.TrustedRootMediaType01, tr.FulcioCertificateAuthorities(), nil,
		tr.TimestampingAuthorities(), tr.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	if newFastPair(t, noCT, func() *Policy { return basePolicy(v) }).differential(t, "no CT log", art, stripped) {
		t.Error("accepted without a CT log to check the SCT")
	}
	// The public-good root does not list the stack's log.
	pg, err := root.NewTrustedRootFromJSON(publicgood.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	if newFastPair(t, pg, func() *Policy { return basePolicy(v) }).differential(t, "other instance", art, stripped) {
		t.Error("accepted against a root that does not list the log")
	}
}

// conformanceCases yields every conformance bundle-verify case with a certificate
// policy: its root (or public good), artifact digest, identity and issuer.
func conformanceCases(t testing.TB, each func(name string, fp fastPair, digest, data []byte)) {
	t.Helper()
	dirs, err := os.ReadDir(conformance)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := root.NewTrustedRootFromJSON(publicgood.TrustedRootJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(conformance, d.Name())
		if _, err := os.Stat(filepath.Join(dir, "key.pub")); err == nil {
			continue
		}
		var tm root.TrustedMaterial = pg
		if _, err := os.Stat(filepath.Join(dir, "trusted_root.json")); err == nil {
			tr, err := root.NewTrustedRootFromPath(filepath.Join(dir, "trusted_root.json"))
			if err != nil {
				continue // a root that does not load: nothing verifies
			}
			tm = tr
		}
		artifact := filepath.Join(dir, "artifact")
		if _, err := os.Stat(artifact); err != nil {
			artifact = filepath.Join(conformance, "a.txt")
		}
		id, iss := conformanceIdentity, conformanceIssuer
		if b, err := os.ReadFile(filepath.Join(dir, "identity")); err == nil {
			id = string(bytes.TrimSpace(b))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "issuer")); err == nil {
			iss = string(bytes.TrimSpace(b))
		}
		data, err := os.ReadFile(filepath.Join(dir, "bundle.sigstore.json"))
		if err != nil {
			t.Fatal(err)
		}
		fp := newFastPair(t, tm, func() *Policy { return &Policy{Identity: id, Issuer: iss, AllowUnrecordedRunner: true} })
		each(d.Name(), fp, sha256File(t, artifact), data)
	}
}

// TestFastPathConformance: over every conformance case, accepted only with the slow
// path's result; the v0.3 happy paths on Rekor v1 and v2 are handled.
func TestFastPathConformance(t *testing.T) {
	handled := map[string]bool{}
	conformanceCases(t, func(name string, fp fastPair, digest, data []byte) {
		handled[name] = fp.differential(t, name, digest, data)
	})
	for _, n := range []string{"happy-path-v0.3", "happy-path-v0.3-new-mediaType", "rekor2-happy-path",
		"rekor2-timestamp-with-embedded-cert", "rekor2-checkpoint-cosigned"} {
		if !handled[n] {
			t.Errorf("%s: not handled by the fast path", n)
		}
	}
	for n, h := range handled {
		if h && len(n) > 5 && n[len(n)-5:] == "_fail" {
			t.Errorf("%s: a failing case accepted", n)
		}
	}
}

// TestSETPayloadIsCanonical: the SET payload built directly is byte-equal to
// sigstore-go's construction (json.Marshal of tlog.RekorPayload, then
// jsoncanonicalizer) over many entries.
func TestSETPayloadIsCanonical(t *testing.T) {
	bodies := [][]byte{nil, []byte("{}"), []byte(`{"apiVersion":"0.0.1","kind":"hashedrekord"}`)}
	for _, n := range []string{"artifact.txt.cachet.sigstore.json", "artifact.txt.cosign.sigstore.json", "other.txt.sigstore.json"} {
		body, _ := base64.StdEncoding.DecodeString(tlogEntry(readJSON(t, filepath.Join(td, n)))["canonicalizedBody"].(string))
		bodies = append(bodies, body)
	}
	for i := range 200 {
		b := make([]byte, i*7)
		for j := range b {
			b[j] = byte(i*31 + j*17)
		}
		bodies = append(bodies, b)
	}
	nums := []int64{0, 1, 9, 10, 99, 1e6, 1700000000, 1<<31 - 1, 1 << 40, maxSafeInt - 1}
	for i, body := range bodies {
		for _, it := range nums {
			idx := nums[(i+int(it%7))%len(nums)]
			id := hex.EncodeToString(bytes.Repeat([]byte{byte(i)}, 32))
			want, err := json.Marshal(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: it, LogIndex: idx, LogID: id})
			if err != nil {
				t.Fatal(err)
			}
			want, err = jsoncanonicalizer.Transform(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := setPayload(body, it, id, idx); !bytes.Equal(got, want) {
				t.Fatalf("payload differs:\n got %s\nwant %s", got, want)
			}
		}
	}
}

// FuzzFastPath: bundle JSON and artifact bytes mutated; the fast path accepts only
// what the slow path accepts, with the same Result. Run it with a minimisation budget
// in executions: go test -run XXX -fuzz FuzzFastPath -fuzzminimizetime 20x ./verify
// (~5,000 execs/s on 2 cores). The default budget, 60 s per new interesting input
// spent shrinking a 4 KB bundle through the slow path, shows as 0 execs/s for minutes.
func FuzzFastPath(f *testing.F) {
	v, tr := loadVectors(f)
	fp := newFastPair(f, tr, func() *Policy { return basePolicy(v) })
	art, _ := os.ReadFile(filepath.Join(td, "artifact.txt"))
	for _, n := range []string{"artifact.txt.cachet.sigstore.json", "artifact.txt.cosign.sigstore.json", "other.txt.sigstore.json"} {
		f.Add(stripTSA(f, n), art)
		orig, _ := os.ReadFile(filepath.Join(td, n))
		f.Add(orig, art)
	}
	f.Fuzz(func(t *testing.T, data, artifact []byte) {
		d := sha256.Sum256(artifact)
		fp.differential(t, "fuzz", d[:], data)
	})
}
