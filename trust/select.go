package trust

import (
	"errors"
	"fmt"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
)

// API versions cachet speaks, as a signing config counts them. Fulcio's majorApiVersion
// 1 is its /api/v2/signingCert REST API; Rekor 1 is /api/v1/log/entries (Trillian-backed
// Rekor), Rekor 2 is rekor-tiles' /api/v2/log/entries; TSA 1 is the RFC 3161 POST
// endpoint. Where a config offers several versions, the highest valid one is chosen (as
// sigstore-go and cosign choose).
var (
	FulcioAPIVersions = []uint32{1}
	RekorAPIVersions  = []uint32{1, 2}
	TSAAPIVersions    = []uint32{1}
)

// Services are the endpoints a signing run uses.
type Services struct {
	FulcioURL string // empty when the config names no valid CA (key mode needs none)
	RekorURL  string // empty when the config names no Rekor log
	// RekorVersion is the chosen log's majorApiVersion: 1 (Rekor) or 2 (rekor-tiles).
	RekorVersion uint32
	TSAURLs      []string // every one must answer: one RFC 3161 timestamp each
}

// ErrNoFulcio is a signing config listing Fulcio CAs of which none is valid.
var ErrNoFulcio = errors.New("no Fulcio CA")

// Select picks the services of sc valid at now. Fulcio: the newest valid v1 CA. Rekor:
// the config's selector over valid v1 logs, which must leave exactly one (cachet writes
// one entry). TSAs: the config's selector over valid v1 TSAs (ALL: one per operator;
// EXACT n: n of them), each of which must then timestamp every signature.
func Select(sc *root.SigningConfig, now time.Time) (*Services, error) {
	raw, err := sc.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	var pb prototrustroot.SigningConfig
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	out := &Services{}
	if cas := sc.FulcioCertificateAuthorityURLs(); len(cas) > 0 {
		s, err := root.SelectService(cas, FulcioAPIVersions, now)
		if err != nil {
			return nil, fmt.Errorf("signing config: %w (majorApiVersion 1) valid at %s among %d: add one, or name a Fulcio explicitly", ErrNoFulcio, now.Format(time.RFC3339), len(cas))
		}
		out.FulcioURL = s.URL
	}
	if logs := sc.RekorLogURLs(); len(logs) > 0 {
		sel, err := selector("rekorTlogConfig", pb.GetRekorTlogConfig())
		if err != nil {
			return nil, err
		}
		got, err := root.SelectServices(logs, sel, RekorAPIVersions, now)
		if err != nil {
			return nil, fmt.Errorf("signing config: Rekor: %w (among %d logs)", err, len(logs))
		}
		if len(got) != 1 {
			return nil, fmt.Errorf("signing config: rekorTlogConfig selects %d Rekor logs; cachet writes one entry per signature: use selector ANY or EXACT 1", len(got))
		}
		out.RekorURL, out.RekorVersion = got[0].URL, got[0].MajorAPIVersion
	}
	if tsas := sc.TimestampAuthorityURLs(); len(tsas) > 0 {
		sel, err := selector("tsaConfig", pb.GetTsaConfig())
		if err != nil {
			return nil, err
		}
		got, err := root.SelectServices(tsas, sel, TSAAPIVersions, now)
		if err != nil {
			return nil, fmt.Errorf("signing config: TSAs: %w (among %d; ALL and EXACT count distinct operators)", err, len(tsas))
		}
		for _, s := range got {
			out.TSAURLs = append(out.TSAURLs, s.URL)
		}
	}
	return out, nil
}

// selector reads a ServiceConfiguration; an absent or undefined one is refused rather
// than read as ANY, since ALL and EXACT promise more timestamps or entries than ANY.
func selector(field string, c *prototrustroot.ServiceConfiguration) (root.ServiceConfiguration, error) {
	switch c.GetSelector() {
	case prototrustroot.ServiceSelector_ALL, prototrustroot.ServiceSelector_ANY:
	case prototrustroot.ServiceSelector_EXACT:
		if c.GetCount() == 0 {
			return root.ServiceConfiguration{}, fmt.Errorf("signing config: %s: selector EXACT needs a count of at least 1", field)
		}
	default:
		return root.ServiceConfiguration{}, fmt.Errorf("signing config: %s: no selector: set ANY, ALL or EXACT with a count", field)
	}
	return root.ServiceConfiguration{Selector: c.GetSelector(), Count: c.GetCount()}, nil
}
