package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
)

// v2Case is a conformance case with a Rekor v2 entry, with the verifiers built for it.
type v2Case struct {
	fp     fastPair
	digest []byte
	data   []byte
}

func v2Cases(t *testing.T, names ...string) map[string]v2Case {
	t.Helper()
	out := map[string]v2Case{}
	conformanceCases(t, func(name string, fp fastPair, digest, data []byte) {
		for _, n := range names {
			if n == name {
				out[name] = v2Case{fp, digest, data}
			}
		}
	})
	if len(out) != len(names) {
		t.Fatalf("found %d of the conformance cases %v", len(out), names)
	}
	return out
}

// TestFastPathV2Differential: a Rekor v2 bundle is handled with the slow path's result,
// and every variant of it with one field tampered or out of the shape is not handled.
func TestFastPathV2Differential(t *testing.T) {
	cases := v2Cases(t, "rekor2-happy-path", "rekor2-timestamp-with-embedded-cert")
	c, other := cases["rekor2-happy-path"], cases["rekor2-timestamp-with-embedded-cert"]
	for name, g := range cases {
		if !g.fp.differential(t, name, g.digest, g.data) {
			t.Errorf("%s: not handled", name)
		}
	}
	var otherB map[string]any
	if err := json.Unmarshal(other.data, &otherB); err != nil {
		t.Fatal(err)
	}
	m := func(f func(b map[string]any)) []byte { return mutated(t, c.data, f) }
	e := tlogEntry
	if !c.fp.differential(t, "re-encoded (key order)", c.digest, m(func(map[string]any) {})) {
		t.Error("re-encoded (key order): not handled")
	}
	variants := map[string][]byte{
		"bad root hash": m(func(b map[string]any) { flipB64(t, obj(e(b), "inclusionProof"), "rootHash") }),
		"bad proof hash": m(func(b map[string]any) {
			h := obj(e(b), "inclusionProof")["hashes"].([]any)
			h[0] = obj(e(otherB), "inclusionProof")["rootHash"]
		}),
		"no proof hashes":    m(func(b map[string]any) { delete(obj(e(b), "inclusionProof"), "hashes") }),
		"no proof":           m(func(b map[string]any) { delete(e(b), "inclusionProof") }),
		"a SET":              m(func(b map[string]any) { e(b)["inclusionPromise"] = map[string]any{"signedEntryTimestamp": "MEUCIQ=="} }),
		"an integrated time": m(func(b map[string]any) { e(b)["integratedTime"] = "1749729740" }),
		"bad signature":      m(func(b map[string]any) { flipB64(t, obj(b, "messageSignature"), "signature") }),
		"bad digest":         m(func(b map[string]any) { flipB64(t, obj(b, "messageSignature", "messageDigest"), "digest") }),
		"digest SHA2_384":    m(func(b map[string]any) { obj(b, "messageSignature", "messageDigest")["algorithm"] = "SHA2_384" }),
		"bad certificate":    m(func(b map[string]any) { flipB64(t, obj(b, "verificationMaterial", "certificate"), "rawBytes") }),
		"grafted body":       m(func(b map[string]any) { e(b)["canonicalizedBody"] = e(otherB)["canonicalizedBody"] }),
		"bad body":           m(func(b map[string]any) { flipB64(t, e(b), "canonicalizedBody") }),
		"grafted proof":      m(func(b map[string]any) { e(b)["inclusionProof"] = e(otherB)["inclusionProof"] }),
		"log index +1":       m(func(b map[string]any) { bump(e(b), "logIndex", 1) }),
		"proof log index +1": m(func(b map[string]any) { bump(obj(e(b), "inclusionProof"), "logIndex", 1) }),
		"both log indexes +1": m(func(b map[string]any) {
			bump(e(b), "logIndex", 1)
			bump(obj(e(b), "inclusionProof"), "logIndex", 1)
		}),
		"tree size +1":  m(func(b map[string]any) { bump(obj(e(b), "inclusionProof"), "treeSize", 1) }),
		"bad log id":    m(func(b map[string]any) { flipB64(t, obj(e(b), "logId"), "keyId") }),
		"kind dsse":     m(func(b map[string]any) { obj(e(b), "kindVersion")["kind"] = "dsse" }),
		"version 0.0.1": m(func(b map[string]any) { obj(e(b), "kindVersion")["version"] = "0.0.1" }),
		"two entries": m(func(b map[string]any) {
			vm := obj(b, "verificationMaterial")
			vm["tlogEntries"] = append(vm["tlogEntries"].([]any), e(b))
		}),
		"no timestamps": m(func(b map[string]any) { delete(obj(b, "verificationMaterial"), "timestampVerificationData") }),
		"checkpoint tampered": m(func(b map[string]any) {
			cp := obj(e(b), "inclusionProof", "checkpoint")
			s := []byte(cp["envelope"].(string))
			s[bytes.IndexByte(s, '\n')+1] ^= 1 // the tree size
			cp["envelope"] = string(s)
		}),
		"checkpoint origin": m(func(b map[string]any) {
			cp := obj(e(b), "inclusionProof", "checkpoint")
			cp["envelope"] = "x" + cp["envelope"].(string)
		}),
		"checkpoint of another entry": m(func(b map[string]any) {
			obj(e(b), "inclusionProof")["checkpoint"] = obj(e(otherB), "inclusionProof")["checkpoint"]
		}),
	}
	for name, data := range tsaVariants(t, c.data) {
		variants[name] = data
	}
	for name, data := range variants {
		if bytes.Equal(data, c.data) {
			t.Errorf("%s: the variant is the good bundle unchanged", name)
		}
		if c.fp.differential(t, name, c.digest, data) {
			t.Errorf("%s: hostile variant accepted by the fast path", name)
		}
	}
	// The good bundle for another artifact: not accepted.
	if d := sha256.Sum256([]byte("other")); c.fp.differential(t, "other artifact", d[:], c.data) {
		t.Error("accepted for another artifact")
	}
	// Asking for two timestamps from a bundle with one: not accepted.
	two := newFastPair(t, c.fp.fast.sg.cache.tm, func() *Policy { p := *c.fp.fast.policy; p.MinTimestamps = 2; return &p })
	if two.differential(t, "min-timestamps 2", c.digest, c.data) {
		t.Error("min-timestamps 2: accepted with one timestamp")
	}
}
