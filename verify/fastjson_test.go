package verify

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// strictUnmarshal is how the fast path read a bundle before decodeFast: encoding/json
// refusing unknown fields, one value, then only white space.
func strictUnmarshal(data []byte) (fastBundle, bool) {
	var b fastBundle
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&b) != nil || len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) != 0 {
		return b, false
	}
	return b, true
}

// checkDecode: what decodeFast accepts, encoding/json reads the same, field for field.
func checkDecode(t *testing.T, name string, data []byte) bool {
	t.Helper()
	if !utf8.Valid(data) {
		return false
	}
	var got fastBundle
	if !decodeFast(data, &got) {
		return false
	}
	want, ok := strictUnmarshal(data)
	if !ok {
		t.Fatalf("%s: decodeFast accepted what encoding/json refuses:\n%.300s", name, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decodeFast read\n%+v\nencoding/json\n%+v", name, got, want)
	}
	return true
}

// TestDecodeFastMatchesEncodingJSON: the testdata bundles, the hostile variants, forms
// protojson and encoding/json read differently, and 4,000 random byte-level mutations:
// decodeFast accepts the bundles of the shape, refuses the others it must, and what it
// accepts encoding/json reads into the same fields.
func TestDecodeFastMatchesEncodingJSON(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(td, "*.sigstore.json"))
	conf, _ := filepath.Glob("../testdata/conformance/bundle-verify/*/bundle.sigstore.json")
	var goods [][]byte
	accepted := 0
	for _, p := range append(paths, conf...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if checkDecode(t, p, data) {
			accepted++
			goods = append(goods, data)
		}
	}
	if accepted < 4 || len(paths) == 0 {
		t.Fatalf("decodeFast accepted %d testdata bundles, want at least 4", accepted)
	}
	good, err := os.ReadFile(filepath.Join(td, "artifact.txt.cachet.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g fastBundle
	if !decodeFast(good, &g) {
		t.Fatal("the stack's cachet bundle is refused")
	}
	for name, v := range hostileVariants(t, good) {
		checkDecode(t, name, v)
	}
	// Forms that must go to the slow path: protojson reads them one way and
	// encoding/json another, or encoding/json refuses them.
	refused := map[string][]byte{
		"key in another case": bytes.Replace(good, []byte(`"mediaType"`), []byte(`"mediatype"`), 1),
		"duplicate key":       bytes.Replace(good, []byte(`"mediaType"`), []byte(`"mediaType":"x","mediaType"`), 1),
		"duplicate object": bytes.Replace(good, []byte(`"logId":`),
			[]byte(`"logId":{"keyId":"AAAA"},"logId":`), 1),
		"null value":         bytes.Replace(good, []byte(`"mediaType"`), []byte(`"certificate":null,"mediaType"`), 1),
		"number value":       bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":1`), 1),
		"control character":  bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte("\"version\":\"0.0.1\x01\""), 1),
		"bad escape":         bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":"0.0.1\x"`), 1),
		"short \\u":          bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":"\u00"`), 1),
		"escaped surrogate":  bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":"\ud83d\ude00"`), 1),
		"URL-safe base64":    bytes.Replace(good, []byte(`"signature":"`), []byte(`"signature":"-_`), 1),
		"escape in bytes":    bytes.Replace(good, []byte(`"signature":"`), []byte(`"signature":"\/`), 1),
		"trailing comma":     bytes.Replace(good, []byte(`"version":"0.0.1"`), []byte(`"version":"0.0.1",`), 1),
		"second value":       append(append([]byte{}, good...), []byte(` {}`)...),
		"array, not object":  bytes.Replace(good, []byte(`"logId":{`), []byte(`"logId":[{`), 1),
		"unterminated":       good[:len(good)-1],
		"misplaced in proof": bytes.Replace(good, []byte(`"treeSize":`), []byte(`"kind":"x","treeSize":`), 1),
	}
	for name, v := range refused {
		if bytes.Equal(v, good) {
			t.Fatalf("%s: the change did not apply", name)
		}
		var b fastBundle
		if utf8.Valid(v) && decodeFast(v, &b) {
			t.Errorf("%s: accepted", name)
		}
	}
	// Escapes encoding/json and protojson both read: decodeFast unescapes them alike.
	for name, v := range map[string][]byte{
		"escaped checkpoint": bytes.Replace(good, []byte(`"envelope":"`), []byte(`"envelope":"\u00e9\"\\\/\b\f\r\t\n`), 1),
		"spaced":             bytes.ReplaceAll(good, []byte(`":`), []byte("\" :\n\t ")),
	} {
		if !checkDecode(t, name, v) {
			t.Errorf("%s: refused", name)
		}
	}
	// Random mutations: flip, delete or insert bytes (of JSON's own alphabet, mostly).
	rng := rand.New(rand.NewPCG(17, 1))
	alphabet := []byte(`{}[]:,"\ ` + "\t\n" + `0u1aAeE-_/+=nlt`)
	accepted = 0
	for i := range 4000 {
		src := goods[i%len(goods)]
		m := append([]byte{}, src...)
		for range 1 + rng.IntN(3) {
			p := rng.IntN(len(m))
			switch rng.IntN(3) {
			case 0:
				m[p] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				m = append(m[:p], m[p+1:]...)
			default:
				m = append(m[:p], append([]byte{alphabet[rng.IntN(len(alphabet))]}, m[p:]...)...)
			}
		}
		if checkDecode(t, "mutation", m) {
			accepted++
		}
	}
	t.Logf("%d of 4000 mutations accepted, each read as encoding/json reads it", accepted)
}
