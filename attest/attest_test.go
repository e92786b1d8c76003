package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The DSSE protocol document's example.
func TestPAE(t *testing.T) {
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Fatalf("PAE = %q, want %q", got, want)
	}
}

func TestSignVerifies(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	env, err := Sign(k, PayloadType, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(PAE(PayloadType, []byte(`{"a":1}`)))
	if !ecdsa.VerifyASN1(&k.PublicKey, h[:], env.Signatures[0].Sig) {
		t.Fatal("signature does not verify over the PAE")
	}
}

func TestStatement(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	subj := []Subject{{Name: "x", Digest: d[:]}, {Name: "x", Digest: d[:]}}
	out, err := Statement(subj, SPDX, []byte(` { "n" : 12345678901234567890 } `))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatal(err)
	}
	if st["_type"] != StatementType || st["predicateType"] != SPDX || len(st["subject"].([]any)) != 1 {
		t.Fatalf("statement: %s", out)
	}
	if !strings.Contains(string(out), `"predicate":{"n":12345678901234567890}`) {
		t.Fatalf("predicate changed: %s", out)
	}
	for name, c := range map[string]struct {
		subj []Subject
		pred string
	}{
		"no subject":       {nil, `{}`},
		"short digest":     {[]Subject{{Name: "x", Digest: d[:4]}}, `{}`},
		"not JSON":         {subj, `{`},
		"not an object":    {subj, `"s"`},
		"trailing garbage": {subj, `{} {}`},
	} {
		if _, err := Statement(c.subj, SPDX, []byte(c.pred)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPredicateType(t *testing.T) {
	for in, want := range map[string]string{"slsaprovenance1": SLSAProvenanceV1, "SPDX": SPDX, "spdxjson": SPDX, "cyclonedx": CycloneDX, SLSAProvenanceV1: SLSAProvenanceV1} {
		if got, err := PredicateType(in, false); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	if _, err := PredicateType("https://example.com/p/v1", false); !errors.Is(err, ErrUnknownPredicateType) {
		t.Errorf("unknown URI accepted: %v", err)
	}
	if got, err := PredicateType("https://example.com/p/v1", true); err != nil || got != "https://example.com/p/v1" {
		t.Errorf("allowed unknown URI: %q %v", got, err)
	}
	if _, err := PredicateType("sbom", true); err == nil {
		t.Error("a name that is no URI accepted")
	}
}

func TestSLSAProvenance(t *testing.T) {
	r := &GitHubRun{JobWorkflowRef: "o/r/.github/workflows/rel.yml@refs/tags/v1", WorkflowRef: "o/r/.github/workflows/rel.yml@refs/tags/v1",
		Repository: "o/r", Ref: "refs/tags/v1", SHA: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", EventName: "push", RunID: "7", RunAttempt: "2"}
	b, err := SLSAProvenance(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1"`, `"path":".github/workflows/rel.yml"`,
		`"uri":"git+https://github.com/o/r@refs/tags/v1"`, `"invocationId":"https://github.com/o/r/actions/runs/7/attempts/2"`} {
		if !strings.Contains(strings.ReplaceAll(string(b), " ", ""), want) {
			t.Errorf("provenance lacks %s: %s", want, b)
		}
	}
	r.WorkflowRef = "other/repo/.github/workflows/x.yml@main"
	if _, err := SLSAProvenance(r); err == nil {
		t.Error("a workflow of another repository accepted")
	}
}

func FuzzStatement(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":null}]}`))
	f.Add([]byte(`[`))
	d := sha256.Sum256(nil)
	f.Fuzz(func(t *testing.T, pred []byte) {
		out, err := Statement([]Subject{{Name: "n", Digest: d[:]}}, SPDX, pred)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}
