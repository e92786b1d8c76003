package tsa

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cachet-sign/cachet/internal/audit"
	"github.com/digitorus/timestamp"
)

// DefaultPolicy is the TSA policy the authority issues under when none is configured:
// Sigstore's (1.3.6.1.4.1.57264.2), so tokens look like those of timestamp.sigstore.dev.
var DefaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}

// Audit event names.
const (
	EventIssued  = "tsa.timestamp.issued"
	EventRefused = "tsa.timestamp.refused"
)

// Config configures an Authority. Signer, Chain and Serials are required.
type Config struct {
	// Signer is the TSA key: a PEM file's key (LoadSigner) or any crypto.Signer, such as
	// one backed by PKCS#11.
	Signer crypto.Signer
	// Chain is the TSA certificate first, then intermediates, then the root. CheckChain
	// must accept it.
	Chain []*x509.Certificate
	// Policy is the TSA policy of every token; DefaultPolicy when nil. Requests that ask
	// for another policy are refused with unacceptedPolicy.
	Policy asn1.ObjectIdentifier
	// Serials issues serial numbers (OpenSerials).
	Serials *Serials
	// Accuracy is TSTInfo.accuracy; one second when zero (genTime has whole seconds).
	Accuracy time.Duration
	// Audit receives one line per token issued or request refused; nil discards them.
	Audit *audit.Logger
	Now   func() time.Time
	Rand  io.Reader
}

// Authority issues RFC 3161 timestamp tokens. It is safe for concurrent use.
type Authority struct {
	enc      *encoder
	chain    []*x509.Certificate
	policy   asn1.ObjectIdentifier
	policyS  string
	serials  *Serials
	audit    *audit.Logger
	now      func() time.Time
	rand     io.Reader
	refusals map[timestamp.FailureInfo][]byte
}

// NewAuthority checks the configuration (CheckChain) and precomputes what every token
// shares.
func NewAuthority(c Config) (*Authority, error) {
	if c.Signer == nil {
		return nil, errors.New("tsa: no signing key")
	}
	if c.Serials == nil {
		return nil, errors.New("tsa: no serial number source")
	}
	if err := CheckChain(c.Chain, c.Signer.Public(), c.Now); err != nil {
		return nil, err
	}
	a := &Authority{
		chain:    c.Chain,
		policy:   c.Policy,
		serials:  c.Serials,
		audit:    c.Audit,
		now:      c.Now,
		rand:     c.Rand,
		refusals: map[timestamp.FailureInfo][]byte{},
	}
	if a.policy == nil {
		a.policy = DefaultPolicy
	}
	a.policyS = a.policy.String()
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	acc := c.Accuracy
	if acc == 0 {
		acc = time.Second
	}
	enc, err := newEncoder(c.Signer, c.Chain[0], a.policy, acc)
	if err != nil {
		return nil, err
	}
	a.enc = enc
	for _, fi := range []timestamp.FailureInfo{timestamp.BadAlgorithm, timestamp.BadRequest, timestamp.BadDataFormat,
		timestamp.UnacceptedPolicy, timestamp.UnacceptedExtension, timestamp.SystemFailure} {
		r, err := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
		if err != nil {
			return nil, err
		}
		a.refusals[fi] = r
	}
	return a, nil
}

// Chain returns the certificate chain, leaf first.
func (a *Authority) Chain() []*x509.Certificate { return a.chain }

// Policy returns the policy tokens are issued under.
func (a *Authority) Policy() asn1.ObjectIdentifier { return a.policy }

// Refusal is a request the authority answered with PKIStatus rejection.
type Refusal struct {
	Info   timestamp.FailureInfo
	Reason string
}

func (r *Refusal) Error() string {
	return "tsa: request refused (" + r.Info.String() + "): " + r.Reason
}

// Issued describes a token the authority issued.
type Issued struct {
	Serial  string // decimal
	GenTime time.Time
}

// Respond answers one DER TimeStampReq from client (an address, for the audit trail)
// with a DER TimeStampResp: a token, or a rejection with a failInfo. It never fails
// silently: the error is the *Refusal behind a rejection, or nil for a token.
func (a *Authority) Respond(reqDER []byte, client string) ([]byte, error) {
	resp, _, err := a.respond(nil, reqDER, client)
	return resp, err
}

// respond is Respond; a token is appended to dst, a refusal is a shared slice that
// callers must not modify.
func (a *Authority) respond(dst, reqDER []byte, client string) ([]byte, *Issued, error) {
	req, ref := a.parse(reqDER)
	if ref != nil {
		return a.refuse(ref, client), nil, ref
	}
	serial, err := a.serials.Next()
	if err != nil {
		ref := &Refusal{timestamp.SystemFailure, "no serial number: " + err.Error()}
		return a.refuse(ref, client), nil, ref
	}
	f := tokenFields{
		hash:    req.HashAlgorithm,
		imprint: req.HashedMessage,
		serial:  serial,
		genTime: a.now().UTC().Truncate(time.Second),
		nonce:   req.Nonce,
		certReq: req.Certificates,
	}
	tok, err := a.enc.appendToken(dst, a.rand, &f)
	if err != nil {
		ref := &Refusal{timestamp.SystemFailure, err.Error()}
		return a.refuse(ref, client), nil, ref
	}
	iss := &Issued{Serial: serial.String(), GenTime: f.genTime}
	// No token leaves without its audit line: a trail that cannot be written refuses.
	if err := a.audit.Log(audit.Event{
		Event:   EventIssued,
		Digest:  hashName(f.hash) + ":" + hex.EncodeToString(f.imprint),
		Serial:  iss.Serial,
		Policy:  a.policyS,
		GenTime: f.genTime.Format(time.RFC3339),
		Client:  client,
	}); err != nil {
		ref := &Refusal{timestamp.SystemFailure, "audit log: " + err.Error()}
		return a.refusals[timestamp.SystemFailure], nil, ref
	}
	return tok, iss, nil
}

// parse applies RFC 3161 section 2.4.1 to a request.
func (a *Authority) parse(der []byte) (*timestamp.Request, *Refusal) {
	req, err := a.parseRequest(der)
	if err != nil {
		var pe timestamp.ParseError
		if errors.As(err, &pe) && strings.Contains(string(pe), "unknown hash function") {
			return nil, &Refusal{timestamp.BadAlgorithm, "unknown message imprint hash algorithm"}
		}
		return nil, &Refusal{timestamp.BadDataFormat, "malformed TimeStampReq: " + err.Error()}
	}
	if _, ok := hashOIDs[req.HashAlgorithm]; !ok {
		return nil, &Refusal{timestamp.BadAlgorithm, fmt.Sprintf("message imprint hash %s not accepted: use SHA-256, SHA-384 or SHA-512", req.HashAlgorithm)}
	}
	if len(req.HashedMessage) != req.HashAlgorithm.Size() {
		return nil, &Refusal{timestamp.BadDataFormat, fmt.Sprintf("message imprint is %d bytes, %s needs %d", len(req.HashedMessage), req.HashAlgorithm, req.HashAlgorithm.Size())}
	}
	if len(req.TSAPolicyOID) > 0 && !req.TSAPolicyOID.Equal(a.policy) {
		return nil, &Refusal{timestamp.UnacceptedPolicy, fmt.Sprintf("policy %v asked, this authority issues under %v", req.TSAPolicyOID, a.policy)}
	}
	if len(req.Extensions) > 0 {
		// RFC 3161 2.4.1: no extension is understood, so none may be silently ignored.
		return nil, &Refusal{timestamp.UnacceptedExtension, fmt.Sprintf("request extension %v not supported", req.Extensions[0].Id)}
	}
	if req.Nonce != nil && req.Nonce.BitLen() > 512 {
		return nil, &Refusal{timestamp.BadRequest, "nonce longer than 512 bits"}
	}
	return req, nil
}

func (a *Authority) refuse(r *Refusal, client string) []byte {
	// A refusal the audit log cannot record is still answered: it releases nothing.
	_ = a.audit.Log(audit.Event{Event: EventRefused, Reason: r.Info.String() + ": " + r.Reason, Client: client})
	return a.refusals[r.Info]
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return strings.ToLower(h.String())
}
