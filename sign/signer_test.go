package sign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/cachet-sign/cachet/keyless"
	"github.com/cachet-sign/cachet/keys"
	"github.com/cachet-sign/cachet/policy"
	"github.com/cachet-sign/cachet/tlog"
)

// TestNewSignerSetup: NewSigner takes keyless or key mode by Key, and refuses a set-up
// that cannot sign before it asks for a certificate or opens a key: the refusals the
// command turns into flag hints, audited under each mode's event. No network.
func TestNewSignerSetup(t *testing.T) {
	noPermission := func(context.Context) (string, error) { return "", keyless.ErrNoTokenPermission }
	tsas := []string{"http://127.0.0.1:9/tsa"}
	for _, tc := range []struct {
		name  string
		o     SignerOptions
		want  error
		audit string // the audit event, when the set-up was a refusal
	}{
		{name: "keyless: unknown Rekor API", o: SignerOptions{Services: Services{RekorVersion: 3}}, want: ErrRekorVersion},
		{name: "keyless: Rekor v2 without a TSA", o: SignerOptions{Services: Services{RekorVersion: 2}}, want: tlog.ErrNeedsTimestamp},
		{name: "keyless: no token", o: SignerOptions{Services: Services{RekorVersion: 1}, Token: noPermission},
			want: keyless.ErrNoTokenPermission, audit: "codesign.keyless.refused"},
		{name: "key mode: no TSA", o: SignerOptions{Key: "key.pem", Tenant: "t", Services: Services{RekorVersion: 1}}, want: ErrKeyNeedsTimestamp},
		{name: "key mode: no tenant", o: SignerOptions{Key: "key.pem", Services: Services{RekorVersion: 1, TSAURLs: tsas}}, want: ErrNoTenant},
		{name: "key mode: unknown Rekor API, logged", o: SignerOptions{Key: "key.pem", Tenant: "t", TLogUpload: true,
			Services: Services{RekorVersion: 4, TSAURLs: tsas}}, want: ErrRekorVersion},
		{name: "key mode: no token", o: SignerOptions{Key: "key.pem", Tenant: "t", Token: noPermission,
			Services: Services{RekorVersion: 1, TSAURLs: tsas}}, want: keyless.ErrNoTokenPermission, audit: "codesign.refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			tc.o.Audit = &audit.Logger{W: &log}
			s, err := NewSigner(t.Context(), tc.o)
			if s != nil || !errors.Is(err, tc.want) {
				t.Fatalf("NewSigner: %v, %v; want %v", s, err, tc.want)
			}
			if refused := errors.Is(err, ErrRefused); refused != (tc.audit != "") {
				t.Errorf("refused %v, want %v (%v)", refused, tc.audit != "", err)
			}
			if !strings.Contains(log.String(), tc.audit) || tc.audit == "" && log.Len() > 0 {
				t.Errorf("audit log %q, want the event %q", log.String(), tc.audit)
			}
		})
	}
}

// TestSignerRefusal: only key mode has per-subject refusals (the signing policy's);
// Close is safe without a key.
func TestSignerRefusal(t *testing.T) {
	refused := fmt.Errorf("app.bin: %w", &policy.RefusedError{})
	for _, tc := range []struct {
		name string
		s    *Signer
		err  error
		want bool
	}{
		{"keyless, a policy refusal", &Signer{}, refused, false},
		{"key mode, a policy refusal", &Signer{Key: &keys.Key{}}, refused, true},
		{"key mode, a failure", &Signer{Key: &keys.Key{}}, errors.New("tsa: 503"), false},
	} {
		if got := tc.s.IsRefusal(tc.err); got != tc.want {
			t.Errorf("%s: IsRefusal = %v, want %v", tc.name, got, tc.want)
		}
		if err := tc.s.Close(); err != nil {
			t.Errorf("%s: Close: %v", tc.name, err)
		}
	}
}
