package verify

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeFast reads data, already known to be valid UTF-8, into b in one pass, for the
// fast path (F1): what json.Unmarshal would read into fastBundle, for the JSON that
// protojson reads as the same bundle, or false. It takes only the shape's own form:
//   - one object, then only white space;
//   - every key one of its object's members (fastBundle's field names there, byte for
//     byte, unescaped: protojson matches no other spelling, encoding/json matches any
//     case), none repeated (protojson refuses a duplicate, encoding/json keeps the last);
//   - every value a string, an object or an array as its field wants it: no null, no
//     number, no literal (encoding/json would leave a field at null, refuse the others);
//   - a string with no control character and only valid escapes, none of them an
//     escaped UTF-16 surrogate (encoding/json turns a lone one into U+FFFD where
//     protojson refuses);
//   - a bytes field's string standard base64 with padding and no escape (encoding/json's
//     decoding of []byte; protojson also reads URL-safe and unpadded base64, which then
//     goes to the slow path).
//
// Anything else returns false, and sigstore-go decides on the bytes as they are.
func decodeFast(data []byte, b *fastBundle) bool {
	d := &fastDec{keyScan: keyScan{d: data}}
	d.ws()
	ok := d.object(func(k string) bool {
		switch k {
		case "mediaType":
			return d.string(&b.MediaType)
		case "verificationMaterial":
			return d.object(func(k string) bool { return d.material(k, b) })
		case "messageSignature":
			b.MessageSignature = &fastMessage{}
			return d.object(func(k string) bool { return d.message(k, b.MessageSignature) })
		}
		return false
	})
	d.ws()
	return ok && d.i == len(d.d)
}

// fastDec is decodeFast's position in its input.
type fastDec struct {
	keyScan
	keys []string // the keys of each open object, for the duplicate check
}

func (d *fastDec) material(k string, b *fastBundle) bool {
	vm := &b.VerificationMaterial
	switch k {
	case "certificate":
		vm.Certificate = &fastCertificate{}
		return d.object(func(k string) bool { return k == "rawBytes" && d.bytes(&vm.Certificate.RawBytes) })
	case "tlogEntries":
		vm.TlogEntries = []fastEntry{}
		return d.array(func() bool {
			vm.TlogEntries = append(vm.TlogEntries, fastEntry{})
			e := &vm.TlogEntries[len(vm.TlogEntries)-1]
			return d.object(func(k string) bool { return d.entry(k, e) })
		})
	case "timestampVerificationData":
		vm.TimestampVerificationData = &fastTimestamps{}
		t := vm.TimestampVerificationData
		return d.object(func(k string) bool {
			if k != "rfc3161Timestamps" {
				return false
			}
			t.Rfc3161Timestamps = []fastTimestamp{}
			return d.array(func() bool {
				t.Rfc3161Timestamps = append(t.Rfc3161Timestamps, fastTimestamp{})
				s := &t.Rfc3161Timestamps[len(t.Rfc3161Timestamps)-1]
				return d.object(func(k string) bool { return k == "signedTimestamp" && d.bytes(&s.SignedTimestamp) })
			})
		})
	}
	return false
}

func (d *fastDec) message(k string, ms *fastMessage) bool {
	switch k {
	case "messageDigest":
		return d.object(func(k string) bool {
			switch k {
			case "algorithm":
				return d.string(&ms.MessageDigest.Algorithm)
			case "digest":
				return d.bytes(&ms.MessageDigest.Digest)
			}
			return false
		})
	case "signature":
		return d.bytes(&ms.Signature)
	}
	return false
}

func (d *fastDec) entry(k string, e *fastEntry) bool {
	switch k {
	case "logIndex":
		return d.string(&e.LogIndex)
	case "logId":
		return d.object(func(k string) bool { return k == "keyId" && d.bytes(&e.LogID.KeyID) })
	case "kindVersion":
		return d.object(func(k string) bool {
			switch k {
			case "kind":
				return d.string(&e.KindVersion.Kind)
			case "version":
				return d.string(&e.KindVersion.Version)
			}
			return false
		})
	case "integratedTime":
		return d.string(&e.IntegratedTime)
	case "inclusionPromise":
		return d.object(func(k string) bool {
			return k == "signedEntryTimestamp" && d.bytes(&e.InclusionPromise.SignedEntryTimestamp)
		})
	case "inclusionProof":
		p := &e.InclusionProof
		return d.object(func(k string) bool {
			switch k {
			case "logIndex":
				return d.string(&p.LogIndex)
			case "rootHash":
				return d.bytes(&p.RootHash)
			case "treeSize":
				return d.string(&p.TreeSize)
			case "hashes":
				p.Hashes = [][]byte{}
				return d.array(func() bool {
					p.Hashes = append(p.Hashes, nil)
					return d.bytes(&p.Hashes[len(p.Hashes)-1])
				})
			case "checkpoint":
				return d.object(func(k string) bool { return k == "envelope" && d.string(&p.Checkpoint.Envelope) })
			}
			return false
		})
	case "canonicalizedBody":
		return d.bytes(&e.CanonicalizedBody)
	}
	return false
}

// object reads an object at d.i, calling member for each key with d.i at its value;
// member reads the value, or returns false for a key that is not the object's.
func (d *fastDec) object(member func(k string) bool) bool {
	if d.i >= len(d.d) || d.d[d.i] != '{' {
		return false
	}
	d.i++
	base := len(d.keys)
	defer func() { d.keys = d.keys[:base] }()
	d.ws()
	if d.i < len(d.d) && d.d[d.i] == '}' {
		d.i++
		return true
	}
	for {
		d.ws()
		if d.i >= len(d.d) || d.d[d.i] != '"' {
			return false
		}
		raw, ok := d.str(true)
		if !ok {
			return false
		}
		k := string(raw)
		for _, seen := range d.keys[base:] {
			if seen == k {
				return false
			}
		}
		d.keys = append(d.keys, k)
		d.ws()
		if d.i >= len(d.d) || d.d[d.i] != ':' {
			return false
		}
		d.i++
		d.ws()
		if !member(k) {
			return false
		}
		if more, ok := d.sep('}'); !ok || !more {
			return ok
		}
	}
}

// array reads an array at d.i, calling elem with d.i at each element.
func (d *fastDec) array(elem func() bool) bool {
	if d.i >= len(d.d) || d.d[d.i] != '[' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.d) && d.d[d.i] == ']' {
		d.i++
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		if more, ok := d.sep(']'); !ok || !more {
			return ok
		}
	}
}

// rawString reads a string at d.i and returns its content between the quotes, and
// whether it holds an escape; false for a control character, an invalid escape or an
// escaped surrogate.
func (d *fastDec) rawString() (raw []byte, escaped, ok bool) {
	if d.i >= len(d.d) || d.d[d.i] != '"' {
		return nil, false, false
	}
	raw, ok = d.str(false)
	if !ok {
		return nil, false, false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			i++ // str has checked there is a byte after each backslash
			switch raw[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+5 > len(raw) {
					return nil, false, false
				}
				if _, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16); err != nil {
					return nil, false, false
				}
				i += 4
			default:
				return nil, false, false
			}
		}
	}
	return raw, escaped, true
}

// string reads a string value into *s, unescaped as encoding/json does.
func (d *fastDec) string(s *string) bool {
	raw, escaped, ok := d.rawString()
	if !ok {
		return false
	}
	if !escaped {
		*s = string(raw)
		return true
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16)
			out = utf8.AppendRune(out, rune(r))
			i += 4
		default: // " \ /
			out = append(out, raw[i])
		}
	}
	*s = string(out)
	return true
}

// bytes reads a bytes value into *b: standard base64 with padding, unescaped.
func (d *fastDec) bytes(b *[]byte) bool {
	raw, escaped, ok := d.rawString()
	if !ok || escaped {
		return false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(out, raw)
	if err != nil {
		return false
	}
	*b = out[:n]
	return true
}

// keyScan is a position in JSON input, with decodeFast's primitives.
type keyScan struct {
	d []byte
	i int
}

func (s *keyScan) ws() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// sep reads what follows a member or an element: a comma (more follow) or the closing
// byte (the end); anything else, or the end of the input, is not ok.
func (s *keyScan) sep(closing byte) (more, ok bool) {
	s.ws()
	if s.i >= len(s.d) {
		return false, false
	}
	switch s.d[s.i] {
	case ',':
		s.i++
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, false
}

// str reads a string at s.i and returns its raw content. A key must have no escape;
// a value may, but not \uD800-\uDFFF.
func (s *keyScan) str(key bool) ([]byte, bool) {
	s.i++ // "
	start := s.i
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case '"':
			out := s.d[start:s.i]
			s.i++
			return out, true
		case '\\':
			if key || s.i+1 >= len(s.d) {
				return nil, false
			}
			if s.d[s.i+1] == 'u' {
				if s.i+3 >= len(s.d) {
					return nil, false
				}
				if c0, c1 := s.d[s.i+2], s.d[s.i+3]; (c0 == 'd' || c0 == 'D') && strings.IndexByte("89abcdefABCDEF", c1) >= 0 {
					return nil, false
				}
			}
			s.i += 2
			continue
		}
		s.i++
	}
	return nil, false
}
