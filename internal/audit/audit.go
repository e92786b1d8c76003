// Package audit writes one JSON line per signing decision. Lines never carry secrets:
// callers pass identities, digests and reasons, not tokens, PINs or keys.
package audit

import (
	"encoding/json"
	"io"
	"os"
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

// Open is the Logger of the audit log at path, appended to (made 0640 if missing), or
// of std when path is "" or "-"; close closes the file. A file that cannot be opened
// is an error: a run that cannot keep its audit trail does not start.
func Open(path string, std io.Writer) (l *Logger, close func() error, err error) {
	if path == "" || path == "-" {
		return &Logger{W: std}, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, nil, err
	}
	return &Logger{W: f}, f.Close, nil
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
