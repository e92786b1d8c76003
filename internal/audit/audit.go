// Package audit writes one JSON line per signing decision. Lines never carry secrets:
// callers pass identities, digests and reasons, not tokens, PINs or keys.
package audit

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event is one decision.
type Event struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
	Artifact   string    `json:"artifact,omitempty"`
	Digest     string    `json:"digest,omitempty"` // sha256:<hex>
	SAN        string    `json:"san,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	CertSerial string    `json:"cert_serial,omitempty"`
	LogIndex   *int64    `json:"log_index,omitempty"`
	Bundle     string    `json:"bundle,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	// Timestamp authority fields (tsa.timestamp.*).
	Serial  string `json:"serial,omitempty"`   // TSTInfo serial number, decimal
	Policy  string `json:"policy,omitempty"`   // TSA policy OID
	GenTime string `json:"gen_time,omitempty"` // TSTInfo genTime, RFC 3339
	Client  string `json:"client,omitempty"`   // requester's address
	// Key mode fields (codesign.signed, codesign.refused, codesign.failed).
	Tenant    string `json:"tenant,omitempty"`
	Principal string `json:"principal,omitempty"` // who asked, from the verified OIDC token
	KeyID     string `json:"key_id,omitempty"`    // base64 SHA-256 of the public key (the bundle's key hint)
}

// Logger writes events; a nil *Logger or nil W discards them.
type Logger struct {
	W   io.Writer
	Now func() time.Time
	mu  sync.Mutex
}

// Log writes e as one line. A write error is returned: an audit trail that cannot be
// written is a failure the caller must not ignore.
func (l *Logger) Log(e Event) error {
	if l == nil || l.W == nil {
		return nil
	}
	if e.Time.IsZero() {
		if l.Now != nil {
			e.Time = l.Now().UTC()
		} else {
			e.Time = time.Now().UTC()
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.W.Write(append(b, '\n'))
	return err
}
