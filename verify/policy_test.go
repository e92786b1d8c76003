package verify

import "testing"

// TestAsVerifyBlob: verify-bundle's policy takes any predicate type unless one is
// named, and judges a certificate without a runner environment by identity and issuer;
// self-hosted runners stay as the policy says.
func TestAsVerifyBlob(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want Policy
	}{
		{"no type", Policy{Identity: "i"}, Policy{Identity: "i", PredicateType: AnyPredicateType, AllowUnrecordedRunner: true}},
		{"a type named", Policy{PredicateType: "spdx"}, Policy{PredicateType: "spdx", AllowUnrecordedRunner: true}},
		{"self-hosted allowed", Policy{AllowSelfHosted: true}, Policy{AllowSelfHosted: true, PredicateType: AnyPredicateType, AllowUnrecordedRunner: true}},
	} {
		p := tc.p
		p.AsVerifyBlob()
		if p.PredicateType != tc.want.PredicateType || p.AllowUnrecordedRunner != tc.want.AllowUnrecordedRunner ||
			p.AllowSelfHosted != tc.want.AllowSelfHosted || p.Identity != tc.want.Identity {
			t.Errorf("%s: %+v, want %+v", tc.name, p, tc.want)
		}
	}
}
