package verify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// BenchmarkVerifyMany verifies many subjects that share one bundle's certificate, as a
// release signed with one Fulcio certificate does, through VerifyAll (one worker per
// CPU). It reports bundles/s, the figure bench/verify measures on the local stack:
//
//	go test -run '^$' -bench VerifyMany -benchtime 2000x ./verify
func BenchmarkVerifyMany(b *testing.B) {
	v, tr := loadVectors(b)
	cases := []struct {
		name, artifact, bundle string
		policy                 func() *Policy
		trustedRoot            string
	}{
		{"rekor-v1+tsa/cachet", "artifact.txt", "artifact.txt.cachet.sigstore.json", func() *Policy { return basePolicy(v) }, ""},
		{"rekor-v1+tsa/cosign", "artifact.txt", "artifact.txt.cosign.sigstore.json", func() *Policy { return basePolicy(v) }, ""},
		{"rekor-v2+tsa/conformance", filepath.Join("..", "conformance", "bundle-verify", "a.txt"),
			filepath.Join("..", "conformance", "bundle-verify", "rekor2-happy-path", "bundle.sigstore.json"),
			func() *Policy {
				return &Policy{Identity: conformanceIdentity, Issuer: conformanceIssuer, AllowUnrecordedRunner: true}
			}, filepath.Join("..", "conformance", "bundle-verify", "rekor2-happy-path", "trusted_root.json")},
	}
	// The bench/verify default (LOG=v1): the cachet vector without its timestamp.
	noTSA := filepath.Join(b.TempDir(), "artifact.txt.notsa.sigstore.json")
	if err := os.WriteFile(noTSA, stripTSA(b, "artifact.txt.cachet.sigstore.json"), 0o644); err != nil {
		b.Fatal(err)
	}
	cases = append(cases, struct {
		name, artifact, bundle string
		policy                 func() *Policy
		trustedRoot            string
	}{"rekor-v1/cachet", "artifact.txt", noTSA, func() *Policy { return basePolicy(v) }, ""})
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			tm := tr
			if tc.trustedRoot != "" {
				tm = loadRoot(b, filepath.Join(td, tc.trustedRoot))
			}
			ver, err := New(tm, tc.policy())
			if err != nil {
				b.Fatal(err)
			}
			bundlePath := tc.bundle
			if !filepath.IsAbs(bundlePath) {
				bundlePath = filepath.Join(td, bundlePath)
			}
			s := Subject{Path: filepath.Join(td, tc.artifact), Bundle: bundlePath}
			if r := ver.Verify(b.Context(), s); !r.Verified {
				b.Fatalf("not verified: %s", r.Error)
			}
			subjects := make([]Subject, b.N)
			for i := range subjects {
				subjects[i] = s
			}
			b.ResetTimer()
			for _, r := range ver.VerifyAll(b.Context(), subjects) {
				if !r.Verified {
					b.Fatalf("not verified: %s", r.Error)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
		})
	}
}

func loadRoot(tb testing.TB, path string) root.TrustedMaterial {
	tb.Helper()
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}
