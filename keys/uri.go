package keys

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrURI means a PKCS#11 URI is malformed or asks for something cachet does not do.
var ErrURI = errors.New("pkcs11 URI")

// URI is the part of an RFC 7512 PKCS#11 URI cachet uses to find a key.
//
// Path attributes (RFC 7512 section 2.3): token, serial and slot-id select the token
// (exactly one of them); object (CKA_LABEL) and id (CKA_ID) select the key (at least
// one); type, when present, must be "private". Query attributes: module-path (required;
// module-name lookups are not done) and pin-source.
//
// pin-source is "file:PATH" (RFC 7512 section 2.4, the PIN is the file's content without
// its trailing newline) or "env:NAME", a cachet extension that is not in the RFC: the PIN
// is the environment variable NAME, as a runner secret would be passed. pin-value is
// refused: a PIN in the URI ends up in command lines, logs and shell history.
type URI struct {
	Token, Serial string
	SlotID        *int
	Object        string // CKA_LABEL
	ID            []byte // CKA_ID
	ModulePath    string
	PINSource     string // "file:..." or "env:..."
}

// IsURI reports whether ref names a PKCS#11 key rather than a file.
func IsURI(ref string) bool { return strings.HasPrefix(ref, "pkcs11:") }

// ParseURI parses an RFC 7512 URI. Unknown or repeated attributes are errors: a
// misspelt attribute must not silently select another token or key.
func ParseURI(s string) (*URI, error) {
	rest, ok := strings.CutPrefix(s, "pkcs11:")
	if !ok {
		return nil, fmt.Errorf("%w: does not start with pkcs11:", ErrURI)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	attr := func(kv string) (string, string, error) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", "", fmt.Errorf("%w: attribute %q is not name=value", ErrURI, kv)
		}
		if seen[k] {
			return "", "", fmt.Errorf("%w: attribute %q appears twice", ErrURI, k)
		}
		seen[k] = true
		dv, err := url.PathUnescape(v)
		if err != nil {
			return "", "", fmt.Errorf("%w: attribute %q: bad percent-encoding", ErrURI, k)
		}
		return k, dv, nil
	}
	if path != "" {
		for _, kv := range strings.Split(path, ";") {
			k, v, err := attr(kv)
			if err != nil {
				return nil, err
			}
			switch k {
			case "token":
				u.Token = v
			case "serial":
				u.Serial = v
			case "slot-id":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%w: slot-id %q is not a number", ErrURI, v)
				}
				u.SlotID = &n
			case "object":
				u.Object = v
			case "id":
				u.ID = []byte(v)
			case "type":
				if v != "private" {
					return nil, fmt.Errorf("%w: type=%s: the key to sign with is type=private", ErrURI, v)
				}
			default:
				return nil, fmt.Errorf("%w: path attribute %q is not supported (use token, serial or slot-id, and object or id)", ErrURI, k)
			}
		}
	}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			k, v, err := attr(kv)
			if err != nil {
				return nil, err
			}
			switch k {
			case "module-path":
				u.ModulePath = v
			case "pin-source":
				u.PINSource = v
			case "pin-value":
				return nil, fmt.Errorf("%w: pin-value is refused: a PIN in the URI ends up in logs; use pin-source=file:PATH or pin-source=env:NAME", ErrURI)
			case "module-name":
				return nil, fmt.Errorf("%w: module-name is not supported; give module-path=/path/to/module.so", ErrURI)
			default:
				return nil, fmt.Errorf("%w: query attribute %q is not supported (use module-path and pin-source)", ErrURI, k)
			}
		}
	}
	n := 0
	for _, set := range []bool{u.Token != "", u.Serial != "", u.SlotID != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return nil, fmt.Errorf("%w: name the token with exactly one of token=, serial= or slot-id=", ErrURI)
	case u.Object == "" && len(u.ID) == 0:
		return nil, fmt.Errorf("%w: name the key with object= (its label) or id=", ErrURI)
	case u.ModulePath == "":
		return nil, fmt.Errorf("%w: no module-path: add ?module-path=/usr/lib/softhsm/libsofthsm2.so (or your HSM's module)", ErrURI)
	case u.PINSource == "":
		return nil, fmt.Errorf("%w: no pin-source: add &pin-source=file:PATH or &pin-source=env:NAME", ErrURI)
	case !strings.HasPrefix(u.PINSource, "file:") && !strings.HasPrefix(u.PINSource, "env:"):
		return nil, fmt.Errorf("%w: pin-source must be file:PATH or env:NAME", ErrURI)
	}
	return u, nil
}

// String is the URI without its PIN source, for messages and audit.
func (u *URI) String() string {
	var parts []string
	switch {
	case u.Token != "":
		parts = append(parts, "token="+url.PathEscape(u.Token))
	case u.Serial != "":
		parts = append(parts, "serial="+url.PathEscape(u.Serial))
	case u.SlotID != nil:
		parts = append(parts, "slot-id="+strconv.Itoa(*u.SlotID))
	}
	if u.Object != "" {
		parts = append(parts, "object="+url.PathEscape(u.Object))
	}
	if len(u.ID) > 0 {
		parts = append(parts, "id="+url.PathEscape(string(u.ID)))
	}
	return "pkcs11:" + strings.Join(parts, ";")
}
