package sign

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Checksum is one line of a checksums file: an artifact signed by its digest.
type Checksum struct {
	Name   string
	Digest []byte // SHA-256
}

// ErrChecksums marks a checksums file that cannot be read as sha256sum output.
var ErrChecksums = errors.New("checksums")

// ParseChecksums reads what `sha256sum` prints: "HEX  NAME" (text mode), "HEX *NAME"
// (binary mode), a leading backslash when the name holds escaped "\\" or "\n" (GNU
// coreutils), and the BSD form `sha256sum --tag` prints, "SHA256 (NAME) = HEX". Blank
// lines are skipped. A line in any other shape, a digest that is not SHA-256, or one name
// with two different digests is an error naming the line: signing the wrong digest is
// worse than signing nothing. A name listed twice with the same digest counts once.
func ParseChecksums(r io.Reader) ([]Checksum, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var out []Checksum
	seen := map[string][]byte{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, digest, err := parseChecksumLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrChecksums, n, err)
		}
		if prev, dup := seen[name]; dup {
			if !bytes.Equal(prev, digest) {
				return nil, fmt.Errorf("%w: line %d: %q listed again with another digest", ErrChecksums, n, name)
			}
			continue
		}
		seen[name] = digest
		out = append(out, Checksum{Name: name, Digest: digest})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChecksums, err)
	}
	return out, nil
}

func parseChecksumLine(line string) (name string, digest []byte, err error) {
	var hexDigest string
	escaped := false
	if rest, ok := strings.CutPrefix(line, `\`); ok {
		line, escaped = rest, true
	}
	if rest, ok := strings.CutPrefix(line, "SHA256 ("); ok {
		i := strings.LastIndex(rest, ") = ")
		if i < 0 {
			return "", nil, errors.New(`want "SHA256 (NAME) = HEX"`)
		}
		name, hexDigest = rest[:i], rest[i+len(") = "):]
	} else {
		if len(line) < 66 || (line[64] != ' ') || (line[65] != ' ' && line[65] != '*') {
			return "", nil, errors.New(`want "HEX  NAME" (sha256sum) with a 64-digit SHA-256`)
		}
		hexDigest, name = line[:64], line[66:]
	}
	if len(hexDigest) != 64 {
		return "", nil, errors.New("digest is not 64 hex digits (SHA-256)")
	}
	digest, err = hex.DecodeString(hexDigest)
	if err != nil {
		return "", nil, errors.New("digest is not hex")
	}
	if escaped {
		if name, err = unescapeName(name); err != nil {
			return "", nil, err
		}
	}
	if name == "" || strings.ContainsRune(name, 0) {
		return "", nil, errors.New("empty or NUL in file name")
	}
	return name, digest, nil
}

// unescapeName undoes coreutils' escaping of "\\" and "\n" in names.
func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", errors.New("name ends in a lone backslash")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("unknown escape \\%c in name", s[i])
		}
	}
	return b.String(), nil
}
