package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TestTokenContents: a granted token carries what RFC 3161 and the request ask for.
func TestTokenContents(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	for _, tc := range []struct {
		name    string
		hash    crypto.Hash
		nonce   *big.Int
		policy  asn1.ObjectIdentifier
		certReq bool
	}{
		{"sha256 nonce policy cert", crypto.SHA256, big.NewInt(7), DefaultPolicy, true},
		{"sha384 no nonce", crypto.SHA384, nil, nil, true},
		{"sha512 no cert", crypto.SHA512, new(big.Int).Lsh(big.NewInt(1), 200), nil, false},
		{"negative nonce", crypto.SHA256, big.NewInt(-5), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, der := request(t, []byte(tc.name), tc.hash, tc.nonce, tc.policy)
			req.Certificates = tc.certReq
			der, _ = req.Marshal()
			before := time.Now().Truncate(time.Second)
			resp, err := tt.a.Respond(der, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if ts.HashAlgorithm != tc.hash || !bytes.Equal(ts.HashedMessage, req.HashedMessage) {
				t.Errorf("imprint %v %x, want %v %x", ts.HashAlgorithm, ts.HashedMessage, tc.hash, req.HashedMessage)
			}
			if (tc.nonce == nil) != (ts.Nonce == nil) || (tc.nonce != nil && tc.nonce.Cmp(ts.Nonce) != 0) {
				t.Errorf("nonce %v, want %v", ts.Nonce, tc.nonce)
			}
			if !ts.Policy.Equal(DefaultPolicy) {
				t.Errorf("policy %v", ts.Policy)
			}
			if ts.Accuracy != time.Second {
				t.Errorf("accuracy %v", ts.Accuracy)
			}
			if ts.Time.Before(before) || ts.Time.After(time.Now()) {
				t.Errorf("genTime %v", ts.Time)
			}
			if ts.SerialNumber.Sign() <= 0 || ts.SerialNumber.BitLen() > 160 {
				t.Errorf("serial %v", ts.SerialNumber)
			}
			if got := len(ts.Certificates) > 0; got != tc.certReq {
				t.Errorf("certificates included = %v, want %v", got, tc.certReq)
			}
			var line struct {
				Event, Digest, Serial, Policy, Client string
				GenTime                               string `json:"gen_time"`
			}
			lines := strings.Split(strings.TrimSpace(tt.audit.String()), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
				t.Fatal(err)
			}
			if line.Event != EventIssued || line.Serial != ts.SerialNumber.String() || line.Client != "192.0.2.1" ||
				line.Policy != DefaultPolicy.String() || !strings.HasSuffix(line.Digest, ":"+hexs(req.HashedMessage)) ||
				line.GenTime != ts.Time.UTC().Format(time.RFC3339) {
				t.Errorf("audit line %+v", line)
			}
		})
	}
}

// TestAuthorityRefuses: every malformed or unacceptable request is answered with a
// rejection and the right failInfo, and audited.
func TestAuthorityRefuses(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	sum := sha256Of([]byte("x"))
	marshal := func(r *timestamp.Request) []byte {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum})
	md5req := bytes.Replace(good, []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01},
		[]byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x7f}, 1) // unknown hash OID
	for _, tc := range []struct {
		name string
		der  []byte
		want timestamp.FailureInfo
	}{
		{"garbage DER", []byte("not a request"), timestamp.BadDataFormat},
		{"empty", nil, timestamp.BadDataFormat},
		{"trailing data", append(append([]byte{}, good...), 0), timestamp.BadDataFormat},
		{"truncated", good[:len(good)-3], timestamp.BadDataFormat},
		{"unsupported hash sha1", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: make([]byte, 20)}), timestamp.BadAlgorithm},
		{"unknown hash OID", md5req, timestamp.BadAlgorithm},
		{"imprint too short", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:31]}), timestamp.BadDataFormat},
		{"imprint of another hash", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA512, HashedMessage: sum}), timestamp.BadDataFormat},
		{"other policy", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum, TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3, 4}}), timestamp.UnacceptedPolicy},
		{"extension", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum,
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}}), timestamp.UnacceptedExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tt.a.Respond(tc.der, "198.51.100.7")
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Info != tc.want {
				t.Fatalf("err = %v, want a %v refusal", err, tc.want)
			}
			_, perr := timestamp.ParseResponse(resp)
			if perr == nil {
				t.Fatal("a refusal parsed as a token")
			}
			fi, ok := failInfo(resp)
			if !ok || fi != tc.want {
				t.Fatalf("response failInfo %v (%v), want %v", fi, ok, tc.want)
			}
			if !strings.Contains(tt.audit.String(), `"event":"tsa.timestamp.refused","reason":"`+tc.want.String()) {
				t.Errorf("refusal not audited:\n%s", tt.audit.String())
			}
		})
	}
}

// failInfo reads PKIStatusInfo from a DER TimeStampResp.
func failInfo(resp []byte) (timestamp.FailureInfo, bool) {
	var r struct {
		Status struct {
			Status   int
			Text     []string       `asn1:"optional,utf8"`
			FailInfo asn1.BitString `asn1:"optional"`
		}
		Token asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(resp, &r); err != nil || len(rest) > 0 || r.Status.Status != int(timestamp.Rejection) {
		return 0, false
	}
	for _, fi := range []timestamp.FailureInfo{timestamp.BadAlgorithm, timestamp.BadRequest, timestamp.BadDataFormat,
		timestamp.UnacceptedPolicy, timestamp.UnacceptedExtension, timestamp.SystemFailure} {
		if r.Status.FailInfo.At(int(fi)) == 1 {
			return fi, true
		}
	}
	return 0, false
}

// TestHTTPRefuses: what is not a timestamp request is refused at the HTTP layer.
func TestHTTPRefuses(t *testing.T) {
	tt := newTestTSA(t, nil, nil)
	srv := tt.server(t, ServerOptions{})
	limited := tt.server(t, ServerOptions{RateLimit: 1, RateBurst: 2})
	_, good := request(t, []byte("x"), crypto.SHA256, nil, nil)
	for _, tc := range []struct {
		name, url, method, ct string
		body                  []byte
		want                  int
	}{
		{"oversized request", srv.URL + "/", "POST", "application/timestamp-query", make([]byte, MaxRequestSize+1), http.StatusRequestEntityTooLarge},
		{"wrong content type", srv.URL + "/", "POST", "application/json", good, http.StatusUnsupportedMediaType},
		{"GET on timestamp", srv.URL + "/api/v1/timestamp", "GET", "", nil, http.StatusMethodNotAllowed},
		{"garbage is still answered", srv.URL + "/", "POST", "application/timestamp-query", []byte{0xff, 0x00}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, tc.url, bytes.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			resp, err := testHTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	t.Run("oversized request is audited", func(t *testing.T) {
		if !strings.Contains(tt.audit.String(), "request larger than") {
			t.Errorf("no audit line:\n%s", tt.audit.String())
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		codes := map[int]int{}
		var retry string
		for range 5 {
			resp, err := testHTTP.Post(limited.URL+"/", "application/timestamp-query", bytes.NewReader(good))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				retry = resp.Header.Get("Retry-After")
			}
		}
		if codes[http.StatusOK] < 2 || codes[http.StatusTooManyRequests] < 2 || retry != "1" {
			t.Fatalf("codes %v, Retry-After %q; want a burst of 2 then 429 with Retry-After: 1", codes, retry)
		}
	})
	t.Run("certchain and healthz", func(t *testing.T) {
		for _, p := range []string{"/certchain", "/api/v1/timestamp/certchain"} {
			resp, err := testHTTP.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			certs, err := ParseChain(b.Bytes())
			if err != nil || len(certs) != 2 || !certs[0].Equal(tt.dev.Leaf) || !certs[1].Equal(tt.dev.Root) {
				t.Fatalf("%s: %d certs, %v", p, len(certs), err)
			}
		}
		resp, err := testHTTP.Get(srv.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
	})
}

// TestRefuseToStart: NewAuthority refuses a chain verifiers would refuse.
func TestRefuseToStart(t *testing.T) {
	dev := sharedDevChain(t)
	eku, _ := TimeStampingEKU()
	nonCritical := eku
	nonCritical.Critical = false
	twoEKUs, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidEKUTimeStamping, {1, 3, 6, 1, 5, 5, 7, 3, 3}})
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerRoot := mustDevChain(t).Root

	for _, tc := range []struct {
		name  string
		chain func() ([]*x509.Certificate, crypto.Signer)
		msg   string
	}{
		{"missing EKU", func() ([]*x509.Certificate, crypto.Signer) {
			return []*x509.Certificate{leafWith(t, dev, nil), dev.Root}, dev.Key
		}, "exactly one extended key usage"},
		{"EKU not critical", func() ([]*x509.Certificate, crypto.Signer) {
			return []*x509.Certificate{leafWith(t, dev, []pkix.Extension{nonCritical}), dev.Root}, dev.Key
		}, "critical"},
		{"two EKUs", func() ([]*x509.Certificate, crypto.Signer) {
			return []*x509.Certificate{leafWith(t, dev, []pkix.Extension{{Id: oidEKU, Critical: true, Value: twoEKUs}}), dev.Root}, dev.Key
		}, "exactly one extended key usage"},
		{"key does not match", func() ([]*x509.Certificate, crypto.Signer) {
			return dev.Chain(), otherKey
		}, "does not match"},
		{"untrusted chain: wrong root", func() ([]*x509.Certificate, crypto.Signer) {
			return []*x509.Certificate{dev.Leaf, strangerRoot}, dev.Key
		}, "certificate signed by unknown authority"},
		{"no root", func() ([]*x509.Certificate, crypto.Signer) {
			return []*x509.Certificate{dev.Leaf}, dev.Key
		}, "not a self-signed root"},
		{"empty", func() ([]*x509.Certificate, crypto.Signer) { return nil, dev.Key }, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, key := tc.chain()
			ser, err := OpenSerials(SerialOptions{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer ser.Close()
			_, err = NewAuthority(Config{Signer: key, Chain: chain, Serials: ser})
			if !errors.Is(err, ErrBadChain) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrBadChain with %q", err, tc.msg)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		ser, _ := OpenSerials(SerialOptions{Dir: t.TempDir()})
		defer ser.Close()
		_, err := NewAuthority(Config{Signer: dev.Key, Chain: dev.Chain(), Serials: ser,
			Now: func() time.Time { return time.Now().AddDate(6, 0, 0) }})
		if !errors.Is(err, ErrBadChain) || !strings.Contains(err.Error(), "certificate has expired or is not yet valid") {
			t.Fatalf("err = %v", err)
		}
	})
}

// leafWith issues a TSA-key certificate from dev's root with the given extensions.
func leafWith(t *testing.T, dev *DevChain, ext []pkix.Extension) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		Subject:         pkix.Name{CommonName: "test TSA"},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: ext,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, dev.Root, dev.Key.Public(), dev.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
