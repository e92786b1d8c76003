package tsa

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/digitorus/timestamp"
)

// FuzzParseRequest: whatever bytes arrive, the authority answers with a DER
// TimeStampResp (a token that binds to the request, or a rejection) and never panics.
func FuzzParseRequest(f *testing.F) {
	tt := newTestTSA(f, nil, func(c *Config) { c.Audit = nil })
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA1} {
		_, der := request(f, []byte("seed"), h, big.NewInt(99), DefaultPolicy)
		f.Add(der)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte("\x30\x03\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, der []byte) {
		resp, err := tt.a.Respond(der, "fuzz")
		if len(resp) == 0 {
			t.Fatal("no response")
		}
		if err != nil {
			var ref *Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("error %T is not a *Refusal", err)
			}
			if fi, ok := failInfo(resp); !ok || fi != ref.Info {
				t.Fatalf("refusal %v answered with failInfo %v (%v)", ref.Info, fi, ok)
			}
			return
		}
		req, perr := timestamp.ParseRequest(der)
		if perr != nil {
			t.Fatalf("token issued for a request that does not parse: %v", perr)
		}
		ts, perr := timestamp.ParseResponse(resp)
		if perr != nil {
			t.Fatalf("token does not parse: %v", perr)
		}
		if ts.HashAlgorithm != req.HashAlgorithm || string(ts.HashedMessage) != string(req.HashedMessage) ||
			(req.Nonce != nil && req.Nonce.Cmp(ts.Nonce) != 0) {
			t.Fatalf("token does not bind to the request")
		}
	})
}

// FuzzCheckResponse: the client's Check on arbitrary bytes never panics and never
// accepts; its errors are ErrUnbound or carry the "tsa:" context.
func FuzzCheckResponse(f *testing.F) {
	tt := newTestTSA(f, nil, func(c *Config) { c.Audit = nil })
	sig := []byte("signature")
	req, der := request(f, sig, crypto.SHA256, big.NewInt(5), nil)
	good, err := tt.a.Respond(der, "seed")
	if err != nil {
		f.Fatal(err)
	}
	_, otherDER := request(f, []byte("other"), crypto.SHA256, big.NewInt(6), nil)
	other, _ := tt.a.Respond(otherDER, "seed")
	f.Add(good[:len(good)-1])
	f.Add(other)
	f.Add(tt.a.refusals[timestamp.BadDataFormat])
	f.Add([]byte{})
	f.Add([]byte("\x30\x00"))
	c := &Client{Trusted: tt.trusted()}
	f.Fuzz(func(t *testing.T, resp []byte) {
		if string(resp) == string(good) {
			return // the one valid answer
		}
		_, err := c.Check(resp, req, sig)
		if err == nil {
			// Only a genuine token for this request verifies: any other bytes that
			// verify must still bind to req (e.g. re-encoded), so Check may accept.
			ts, perr := timestamp.ParseResponse(resp)
			if perr != nil || string(ts.HashedMessage) != string(req.HashedMessage) || ts.Nonce.Cmp(req.Nonce) != 0 {
				t.Fatalf("accepted a response that does not bind to the request")
			}
			return
		}
		if !errors.Is(err, ErrUnbound) && !strings.HasPrefix(err.Error(), "tsa: ") {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

// FuzzParseRequestFast: whatever parseRequestFast accepts, timestamp.ParseRequest
// accepts with the same fields, so the fast path changes no answer.
func FuzzParseRequestFast(f *testing.F) {
	policy := mustOID(DefaultPolicy)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA1} {
		for _, nonce := range []*big.Int{nil, big.NewInt(0), big.NewInt(-5), new(big.Int).Lsh(big.NewInt(1), 70)} {
			for _, pol := range []asn1.ObjectIdentifier{nil, DefaultPolicy, {1, 2, 3}} {
				_, der := request(f, []byte("seed"), h, nonce, pol)
				f.Add(der)
				r := &timestamp.Request{HashAlgorithm: h, HashedMessage: make([]byte, h.Size()), Nonce: nonce, TSAPolicyOID: pol}
				der, err := r.Marshal()
				if err != nil {
					f.Fatal(err)
				}
				f.Add(der)
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		fast, ok := parseRequestFast(der, policy)
		if !ok {
			return
		}
		slow, err := timestamp.ParseRequest(der)
		if err != nil {
			t.Fatalf("fast path accepted what timestamp.ParseRequest refuses (%v): %x", err, der)
		}
		if fast.HashAlgorithm != slow.HashAlgorithm || !bytes.Equal(fast.HashedMessage, slow.HashedMessage) ||
			fast.Certificates != slow.Certificates || !fast.TSAPolicyOID.Equal(slow.TSAPolicyOID) ||
			(fast.Nonce == nil) != (slow.Nonce == nil) || fast.Nonce != nil && fast.Nonce.Cmp(slow.Nonce) != 0 ||
			len(slow.Extensions) != 0 {
			t.Fatalf("fast path %+v, timestamp.ParseRequest %+v: %x", fast, slow, der)
		}
	})
}

// TestParseRequestFastTakesClientRequests: the requests cachet's client, openssl and
// bench/tsaload send take the fast path (with no policy or this authority's), and a
// request with another policy does not.
func TestParseRequestFastTakesClientRequests(t *testing.T) {
	policy := mustOID(DefaultPolicy)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, pol := range []asn1.ObjectIdentifier{nil, DefaultPolicy} {
			want, der := request(t, []byte("data"), h, randomNonce(t), pol)
			got, ok := parseRequestFast(der, policy)
			if !ok {
				t.Fatalf("%v policy %v: not on the fast path", h, pol)
			}
			if got.HashAlgorithm != h || !bytes.Equal(got.HashedMessage, want.HashedMessage) || got.Nonce.Cmp(want.Nonce) != 0 ||
				!got.Certificates || !got.TSAPolicyOID.Equal(pol) {
				t.Fatalf("%v policy %v: got %+v", h, pol, got)
			}
		}
	}
	_, der := request(t, []byte("data"), crypto.SHA256, nil, asn1.ObjectIdentifier{1, 2, 3})
	if _, ok := parseRequestFast(der, policy); ok {
		t.Fatal("another policy took the fast path")
	}
}
