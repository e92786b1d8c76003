package verify

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/certificate-transparency-go/x509util"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// IgnoreSCTHint is what a refusal for a missing or bad SCT says about opting out.
const IgnoreSCTHint = "insecure-ignore-sct skips this check, at the cost of trusting a certificate no CT log has seen"

// SCTFailure says, when err is sigstore-go's SCT check failing for bundle b (it has no
// typed error for it; the message is a stable prefix of signed_entity.go), why: the
// ExplainSCT text for b's certificate. ok is false for any other error.
func SCTFailure(tm root.TrustedMaterial, b *sgbundle.Bundle, err error) (why string, ok bool) {
	if err == nil || !strings.Contains(err.Error(), "signed certificate timestamp") {
		return "", false
	}
	var leaf []byte
	if vc, verr := b.VerificationContent(); verr == nil && vc.Certificate() != nil {
		leaf = vc.Certificate().Raw
	}
	return ExplainSCT(tm, leaf), true
}

// ExplainSCT says why a Fulcio certificate's SCTs did not satisfy tm: the trusted root
// lists no CT log, the certificate carries no SCT, its SCTs are from logs tm does not
// list, or an SCT from a listed log does not verify (tampered, or for another
// certificate). leaf is the certificate's DER.
func ExplainSCT(tm root.TrustedMaterial, leaf []byte) string {
	logs := tm.CTLogs()
	if len(logs) == 0 {
		return "the trusted root lists no CT log, so no SCT can be checked: use a trusted root that lists the CA's CT log (Sigstore's does)"
	}
	scts, err := x509util.ParseSCTsFromCertificate(leaf)
	if err != nil {
		return fmt.Sprintf("the certificate's SCT list does not parse: %v", err)
	}
	if len(scts) == 0 {
		return "the certificate carries no SCT: its CA did not submit it to a CT log"
	}
	var unknown, listed []string
	for _, s := range scts {
		id := hex.EncodeToString(s.LogID.KeyID[:])
		if _, ok := logs[id]; ok {
			listed = append(listed, id)
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(listed) == 0 {
		return fmt.Sprintf("the certificate's SCTs are from CT log %s, which the trusted root does not list", strings.Join(unknown, ", "))
	}
	return fmt.Sprintf("the certificate's SCT from CT log %s does not verify with that log's key (tampered, or made for another certificate), or is outside the log's validity period",
		strings.Join(listed, ", "))
}
