package bundle

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// MessageJSON is the JSON EncodeMessage writes for m, without its white space
// (protojson adds some at random), built directly rather than through protojson's
// reflection: a signing run's third-largest cost per artifact after the log and the
// timestamp. Same keys in the same order, the same omissions of zero values, int64s as
// strings, bytes as standard base64, strings escaped as protojson escapes them
// (TestMessageJSONIsProtojson). ok is false for what it does not write (a string that
// is not valid UTF-8, which protojson refuses too): use EncodeMessage.
//
// A caller writes these bytes only after verifying them as they are (sign: the fast
// path on the bytes); otherwise it writes EncodeMessage's.
func MessageJSON(m MessageSignature) (data []byte, ok bool) {
	n := 512 + 4*len(m.Certificate)/3 + len(m.KeyHint) + 4*len(m.Signature)/3
	for _, e := range m.TlogEntries {
		n += 512 + 4*len(e.GetCanonicalizedBody())/3 + len(e.GetInclusionProof().GetCheckpoint().GetEnvelope()) + 48*len(e.GetInclusionProof().GetHashes())
	}
	for _, t := range m.Timestamps {
		n += 64 + 4*len(t)/3
	}
	w := jsonWriter{b: make([]byte, 0, n), ok: true}
	w.raw(`{"mediaType":`)
	w.str(MediaType)
	w.raw(`,"verificationMaterial":{`)
	switch {
	case m.Certificate != nil:
		w.raw(`"certificate":{`)
		w.field("rawBytes", m.Certificate)
		w.raw(`}`)
	case m.KeyHint != "":
		w.raw(`"publicKey":{"hint":`)
		w.str(m.KeyHint)
		w.raw(`}`)
	default:
		return nil, false
	}
	if len(m.TlogEntries) > 0 {
		w.raw(`,"tlogEntries":[`)
		for i, e := range m.TlogEntries {
			if e == nil {
				return nil, false
			}
			if i > 0 {
				w.raw(`,`)
			}
			w.entry(e)
		}
		w.raw(`]`)
	}
	if len(m.Timestamps) > 0 {
		w.raw(`,"timestampVerificationData":{"rfc3161Timestamps":[`)
		for i, t := range m.Timestamps {
			if i > 0 {
				w.raw(`,`)
			}
			w.raw(`{`)
			w.field("signedTimestamp", t)
			w.raw(`}`)
		}
		w.raw(`]}`)
	}
	w.raw(`},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256"`)
	w.more = true
	w.field("digest", m.Digest)
	w.raw(`}`)
	w.field("signature", m.Signature)
	w.raw(`}}`)
	return w.b, w.ok
}

// jsonWriter appends protojson's compact form; more says a field was written in the
// current object (the next one needs a comma).
type jsonWriter struct {
	b    []byte
	more bool
	ok   bool
}

func (w *jsonWriter) raw(s string) {
	w.b = append(w.b, s...)
	w.more = s[len(s)-1] != '{' && s[len(s)-1] != '['
}

func (w *jsonWriter) key(k string) {
	if w.more {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, `":`...)
	w.more = true
}

// field writes a bytes field, omitted when empty (proto3).
func (w *jsonWriter) field(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = base64.StdEncoding.AppendEncode(w.b, v)
	w.b = append(w.b, '"')
}

// int writes an int64 field as protojson does, a decimal string, omitted when 0.
func (w *jsonWriter) int(k string, v int64) {
	if v == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '"')
}

// strField writes a string field, omitted when empty.
func (w *jsonWriter) strField(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.str(v)
}

// open writes k and opens its object; close ends it.
func (w *jsonWriter) open(k string) {
	w.key(k)
	w.b = append(w.b, '{')
	w.more = false
}

func (w *jsonWriter) close() {
	w.b = append(w.b, '}')
	w.more = true
}

// entry writes a TransparencyLogEntry's fields in their proto order.
func (w *jsonWriter) entry(e *rekorpb.TransparencyLogEntry) {
	w.b = append(w.b, '{')
	w.more = false
	w.int("logIndex", e.GetLogIndex())
	if e.LogId != nil {
		w.open("logId")
		w.field("keyId", e.LogId.GetKeyId())
		w.close()
	}
	if e.KindVersion != nil {
		w.open("kindVersion")
		w.strField("kind", e.KindVersion.GetKind())
		w.strField("version", e.KindVersion.GetVersion())
		w.close()
	}
	w.int("integratedTime", e.GetIntegratedTime())
	if e.InclusionPromise != nil {
		w.open("inclusionPromise")
		w.field("signedEntryTimestamp", e.InclusionPromise.GetSignedEntryTimestamp())
		w.close()
	}
	if p := e.InclusionProof; p != nil {
		w.open("inclusionProof")
		w.int("logIndex", p.GetLogIndex())
		w.field("rootHash", p.GetRootHash())
		w.int("treeSize", p.GetTreeSize())
		if len(p.Hashes) > 0 {
			w.key("hashes")
			w.b = append(w.b, '[')
			for i, h := range p.Hashes {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = append(w.b, '"')
				w.b = base64.StdEncoding.AppendEncode(w.b, h)
				w.b = append(w.b, '"')
			}
			w.b = append(w.b, ']')
		}
		if p.Checkpoint != nil {
			w.open("checkpoint")
			w.strField("envelope", p.Checkpoint.GetEnvelope())
			w.close()
		}
		w.close()
	}
	w.field("canonicalizedBody", e.GetCanonicalizedBody())
	w.close()
}

// str appends s quoted as protojson quotes it: ", \ and control characters escaped
// (\b \f \n \r \t, else \u00XX), everything else as it is; invalid UTF-8 is not ok.
func (w *jsonWriter) str(s string) {
	w.b = append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.ok = false
			}
			w.b = append(w.b, s[i:i+n]...)
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			w.b = append(w.b, '\\', c)
		case c == '\b':
			w.b = append(w.b, `\b`...)
		case c == '\f':
			w.b = append(w.b, `\f`...)
		case c == '\n':
			w.b = append(w.b, `\n`...)
		case c == '\r':
			w.b = append(w.b, `\r`...)
		case c == '\t':
			w.b = append(w.b, `\t`...)
		case c < ' ':
			const hex = "0123456789abcdef"
			w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			w.b = append(w.b, c)
		}
		i++
	}
	w.b = append(w.b, '"')
	w.more = true
}
