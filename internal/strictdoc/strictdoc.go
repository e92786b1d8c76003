// Package strictdoc decodes the small YAML or JSON documents an operator writes (signing
// and verification policies, approvals) so that what is read is exactly what is written:
// a key that is unknown, repeated, or spelt in another case than the field's tag is an
// error, as is a second document in the stream. encoding/json alone keeps the last of
// two duplicates and matches "REF" to ref; sigs.k8s.io/yaml alone reads only the first
// document, so a deny rule after a "---" line would be silently dropped.
package strictdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// Decode decodes one YAML or JSON document into v (a pointer), refusing unknown,
// duplicated and case-variant keys at every level and more than one document.
func Decode(data []byte, v any) error {
	content := false
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.TrimRight(line, " \t\r")
		if (l == "---" || strings.HasPrefix(l, "--- ")) && content {
			return errors.New("more than one document")
		}
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			content = true
		}
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	var raw any
	if err := json.Unmarshal(j, &raw); err == nil {
		if err := exactKeys(raw, reflect.TypeOf(v), ""); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one document")
	}
	return nil
}

// exactKeys walks the decoded document beside the type it decodes into and refuses an
// object key that is not spelt exactly as one of the struct's JSON tags. Shapes that do
// not fit the type are left to the typed decode, which says why.
func exactKeys(raw any, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" && f.IsExported() {
				fields[name] = f.Type
			}
		}
		for k, v := range m {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("unknown key %q%s (keys are lower case, spelt as documented)", k, where(at))
			}
			if err := exactKeys(v, ft, join(at, k)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if m, ok := raw.(map[string]any); ok {
			for k, v := range m {
				if err := exactKeys(v, t.Elem(), join(at, k)); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if s, ok := raw.([]any); ok {
			for i, v := range s {
				if err := exactKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return " in " + at
}
