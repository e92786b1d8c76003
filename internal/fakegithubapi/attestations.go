package fakegithubapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// attDocs is where GitHub's attestation errors point.
const attDocs = "https://docs.github.com/rest/repos/attestations#create-an-attestation"

// bundleV03 are the two spellings of the Sigstore bundle v0.3 media type
// (protobuf-specs: "application/vnd.dev.sigstore.bundle.v0.3+json" and the older
// "application/vnd.dev.sigstore.bundle+json;version=0.3").
var bundleV03 = map[string]bool{
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
}

// maxAttestation bounds a create request's body.
const maxAttestation = 16 << 20

// Attestation is one bundle stored through POST /repos/{owner}/{repo}/attestations.
type Attestation struct {
	ID       int64
	Repo     string   // owner/name
	Bundle   []byte   // the request's "bundle" value, byte for byte as sent
	Subjects []string // "sha256:HEX" of the in-toto statement's subjects
}

// RefuseAttestations makes every create request answer code with GitHub's error
// body and message, as GitHub does for a token without `attestations: write` (403
// "Resource not accessible by integration") or a repository the token cannot see
// (404); code 0 accepts them again.
func (s *Server) RefuseAttestations(code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attRefusal = refusal{code, message}
}

type refusal struct {
	code    int
	message string
}

// Attestations returns copies of what was stored, oldest first.
func (s *Server) Attestations() []Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attestation, len(s.attestations))
	for i, a := range s.attestations {
		out[i] = *a
		out[i].Bundle = bytes.Clone(a.Bundle)
		out[i].Subjects = append([]string(nil), a.Subjects...)
	}
	return out
}

// repoID is the fake's stable numeric id of a repository (what GitHub's
// repository_id is): assigned on first use.
func (s *Server) repoID(repo string) int64 {
	if id, ok := s.repoIDs[repo]; ok {
		return id
	}
	s.nextID++
	s.repoIDs[repo] = s.nextID
	return s.nextID
}

func invalidBundle(w http.ResponseWriter, msg string) {
	ghError(w, http.StatusUnprocessableEntity, "Validation Failed: "+msg, attDocs,
		map[string]string{"resource": "Attestation", "code": "invalid", "field": "bundle"})
}

// createAttestation checks what GitHub's schema documents (a "bundle" object with
// mediaType, verificationMaterial and dsseEnvelope) plus what the fake needs to
// index it (an in-toto statement whose subjects have sha256 digests), stores the
// bundle as sent and answers 201 {"id": N}.
func (s *Server) createAttestation(w http.ResponseWriter, r *http.Request, repo string) {
	s.mu.Lock()
	ref := s.attRefusal
	s.mu.Unlock()
	if ref.code != 0 {
		ghError(w, ref.code, ref.message, attDocs)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxAttestation+1))
	if err != nil || len(data) > maxAttestation {
		ghError(w, http.StatusRequestEntityTooLarge, "Payload too large", attDocs)
		return
	}
	var req struct {
		Bundle json.RawMessage `json:"bundle"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON", attDocs)
		return
	}
	if len(req.Bundle) == 0 || req.Bundle[0] != '{' {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"bundle\" wasn't supplied.", attDocs,
			map[string]string{"resource": "Attestation", "code": "missing_field", "field": "bundle"})
		return
	}
	var b struct {
		MediaType            string          `json:"mediaType"`
		VerificationMaterial json.RawMessage `json:"verificationMaterial"`
		DsseEnvelope         *struct {
			PayloadType string `json:"payloadType"`
			Payload     []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(req.Bundle, &b); err != nil {
		invalidBundle(w, "not a Sigstore bundle: "+err.Error())
		return
	}
	if !bundleV03[b.MediaType] {
		invalidBundle(w, "unsupported bundle media type "+b.MediaType)
		return
	}
	if len(b.VerificationMaterial) == 0 || b.DsseEnvelope == nil || b.DsseEnvelope.PayloadType != "application/vnd.in-toto+json" {
		invalidBundle(w, "the bundle must hold verificationMaterial and an in-toto DSSE envelope")
		return
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(b.DsseEnvelope.Payload, &st); err != nil || len(st.Subject) == 0 {
		invalidBundle(w, "the DSSE payload is not an in-toto statement with subjects")
		return
	}
	a := &Attestation{Repo: repo, Bundle: bytes.Clone(req.Bundle)}
	for _, sub := range st.Subject {
		if h := sub.Digest["sha256"]; h != "" {
			a.Subjects = append(a.Subjects, "sha256:"+strings.ToLower(h))
		}
	}
	if len(a.Subjects) == 0 {
		invalidBundle(w, "no subject has a sha256 digest")
		return
	}
	s.mu.Lock()
	s.nextID++
	a.ID = s.nextID
	s.repoID(repo)
	s.attestations = append(s.attestations, a)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": a.ID})
}

// listAttestations answers GET /repos/{owner}/{repo}/attestations/{subject_digest}
// (digest as sha256:HEX) with {"attestations": [{"bundle", "repository_id"}]}, an
// empty list when none matches (gh attestation treats that as "none found").
func (s *Server) listAttestations(w http.ResponseWriter, repo, digest string) {
	digest = strings.ToLower(digest)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, a := range s.attestations {
		if a.Repo != repo {
			continue
		}
		for _, d := range a.Subjects {
			if d == digest {
				out = append(out, map[string]any{"bundle": json.RawMessage(a.Bundle), "repository_id": s.repoID(repo)})
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"attestations": out})
}

// DSSEBundle is a bundle shaped like cachet attest's (protojson spacing included), with
// an in-toto statement over subject: the fake checks shape, not signatures, and the
// e2e tests send real ones.
func DSSEBundle(mediaType string, subject []byte) []byte {
	sum := sha256.Sum256(subject)
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app.tar.gz", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{},
	})
	return []byte(`{"mediaType":  "` + mediaType + `", "verificationMaterial":{"certificate":{"rawBytes":"MAo="}},
 "dsseEnvelope": {"payload":"` + base64.StdEncoding.EncodeToString(stmt) + `","payloadType":"application/vnd.in-toto+json",
 "signatures":[{"sig":"MEUCIQ=="}]}}`)
}
