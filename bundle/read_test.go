package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/regfile"
)

// fakeToken is what a bundle path pointing at a token file would hold.
const fakeToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.SECRETsig"

func TestParseNeverQuotesInput(t *testing.T) {
	for name, data := range map[string]string{
		"token":              fakeToken,
		"token in a string":  `"` + fakeToken + `"`,
		"token as a field":   `{"` + fakeToken + `": 1}`,
		"token as a value":   `{"mediaType": "` + fakeToken + `"}`,
		"token as a number":  `{"mediaType": 1, "x": "` + fakeToken + `"}`,
		"token after valid":  `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"} ` + fakeToken,
		"token in base64":    `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"certificate": {"rawBytes": "` + fakeToken + `"}}}`,
		"token as hint":      `{"mediaType": "` + MediaType + `", "verificationMaterial": {"publicKey": {"hint": "` + fakeToken + `"}}}`,
		"truncated":          `{"mediaType": "eyJhbGciOi`,
		"wrong version name": `{"mediaType": "application/vnd.dev.sigstore.bundle.vSECRET+json"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(data))
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
			for _, bad := range []string{"eyJ", "SECRET", "sig\""} {
				if strings.Contains(err.Error(), bad) {
					t.Fatalf("error quotes the input (%q): %v", bad, err)
				}
			}
		})
	}
}

func TestParseSaysWhere(t *testing.T) {
	_, err := Parse([]byte("{\n  \"mediaType\": x}"))
	if err == nil || !strings.Contains(err.Error(), "invalid JSON at line 2") {
		t.Fatalf("err = %v, want invalid JSON at line 2", err)
	}
	_, err = Parse([]byte(`{"mediaType": "` + MediaType + `", "nope": 1}`))
	if err == nil || !strings.Contains(err.Error(), "a field it does not have at line 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadRefusesWhatIsNotABundleFile(t *testing.T) {
	td := t.TempDir()
	tok := filepath.Join(td, "token")
	os.WriteFile(tok, []byte(fakeToken), 0o600)
	link := filepath.Join(td, "a.sigstore.json")
	os.Symlink(tok, link)
	_, err := Read(link)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "eyJ") || !strings.Contains(err.Error(), link) {
		t.Fatalf("Read(symlink to token) = %v", err)
	}
	if _, err := Read("/dev/zero"); !errors.Is(err, regfile.ErrNotRegular) {
		t.Fatalf("Read(/dev/zero) = %v, want ErrNotRegular", err)
	}
	big := filepath.Join(td, "big.sigstore.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxSize+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big); !errors.Is(err, regfile.ErrTooLarge) {
		t.Fatalf("Read(big) = %v, want ErrTooLarge", err)
	}
}

// TestParseWithEntriesAgreesWithParse: ParseWithEntries accepts and refuses what Parse
// does, with the same error, and its entries are what the bundle's TlogEntries returns,
// over every stored bundle (the verify vectors, the conformance suite's passing and
// failing cases, v0.1 to v0.3) and variants without inclusion proof or promise, with
// an unparseable entry, with too many entries, and with a v0.4 media type.
func TestParseWithEntriesAgreesWithParse(t *testing.T) {
	var inputs = map[string][]byte{}
	for _, glob := range []string{"../testdata/verify/*.sigstore.json", "../testdata/conformance/bundle-verify/*/bundle.sigstore.json"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs[p] = data
		}
	}
	if len(inputs) < 70 {
		t.Fatalf("found %d stored bundles", len(inputs))
	}
	base := inputs["../testdata/verify/artifact.txt.cachet.sigstore.json"]
	variant := func(edit func(b, vm, entry map[string]any)) []byte {
		var b map[string]any
		if err := json.Unmarshal(base, &b); err != nil {
			t.Fatal(err)
		}
		vm := b["verificationMaterial"].(map[string]any)
		edit(b, vm, vm["tlogEntries"].([]any)[0].(map[string]any))
		out, _ := json.Marshal(b)
		return out
	}
	const v01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	for name, edit := range map[string]func(b, vm, entry map[string]any){
		"no inclusion proof":   func(_, _, e map[string]any) { delete(e, "inclusionProof") },
		"no proof nor promise": func(_, _, e map[string]any) { delete(e, "inclusionProof"); delete(e, "inclusionPromise") },
		"v0.1 with promise":    func(b, _, _ map[string]any) { b["mediaType"] = v01 },
		"v0.1 without promise": func(b, _, e map[string]any) { b["mediaType"] = v01; delete(e, "inclusionPromise") },
		"v0.1 without proof":   func(b, _, e map[string]any) { b["mediaType"] = v01; delete(e, "inclusionProof") },
		"v0.4":                 func(b, _, _ map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json" },
		"v0.4, no proof": func(b, _, e map[string]any) {
			b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json"
			delete(e, "inclusionProof")
		},
		"negative log index": func(_, _, e map[string]any) { e["logIndex"] = "-1" },
		"body not an entry":  func(_, _, e map[string]any) { e["canonicalizedBody"] = "e30=" },
		"no checkpoint":      func(_, _, e map[string]any) { delete(e["inclusionProof"].(map[string]any), "checkpoint") },
		"no entries":         func(_, vm, _ map[string]any) { delete(vm, "tlogEntries") },
		"no material":        func(b, _, _ map[string]any) { delete(b, "verificationMaterial") },
		"no content":         func(b, _, _ map[string]any) { delete(b, "messageSignature") },
		"key hint": func(_, vm, _ map[string]any) {
			delete(vm, "certificate")
			vm["publicKey"] = map[string]any{"hint": "k"}
		},
		"many entries": func(_, vm, e map[string]any) {
			var many []any
			for range 64 {
				many = append(many, e)
			}
			vm["tlogEntries"] = many
		},
	} {
		inputs[name] = variant(edit)
	}

	accepted := 0
	for name, data := range inputs {
		b, err := Parse(data)
		p, perr := ParseWithEntries(data)
		if (err == nil) != (perr == nil) || (err != nil && err.Error() != perr.Error()) {
			t.Errorf("%s: Parse: %v, ParseWithEntries: %v", name, err, perr)
			continue
		}
		if err != nil {
			continue
		}
		accepted++
		if !p.HaveEntries {
			t.Errorf("%s: entries not kept", name)
		}
		want, err := b.TlogEntries()
		if err != nil || len(want) != len(p.Entries) {
			t.Errorf("%s: %d entries, TlogEntries has %d (%v)", name, len(p.Entries), len(want), err)
			continue
		}
		for i := range want {
			if want[i].LogIndex() != p.Entries[i].LogIndex() || want[i].LogKeyID() != p.Entries[i].LogKeyID() ||
				!want[i].IntegratedTime().Equal(p.Entries[i].IntegratedTime()) || want[i].IsRekorV2() != p.Entries[i].IsRekorV2() {
				t.Errorf("%s: entry %d differs", name, i)
			}
		}
		if b.HasInclusionPromise() != p.HasInclusionPromise() || b.HasInclusionProof() != p.HasInclusionProof() {
			t.Errorf("%s: inclusion flags differ", name)
		}
	}
	if accepted < 20 {
		t.Fatalf("only %d inputs parsed: the comparison is mostly of refusals", accepted)
	}
}
