// Package entry is what vaultdb knows of the values it stores: one JSON
// value per entry (never null), an object's fields in their order with a
// repeated key read as JSON.parse reads it, a string entry's text. Its
// errors never quote a value, which may be a secret.
package entry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vaultdb/vaultdb/internal/jsonobj"
)

// Indent returns v indented by two spaces.
func Indent(v []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, "", "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalText returns the JSON string for text, which must be UTF-8.
// <, > and & are kept as they are.
func MarshalText(text []byte) ([]byte, error) {
	if !utf8.Valid(text) {
		return nil, errors.New("the value is not UTF-8 text; binary data cannot be stored as is (encode it first, for example with base64)")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(string(text)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseValue checks that text is one JSON value that can be stored (not
// null). Its error never quotes the text, which may be a secret.
func ParseValue(text []byte) (json.RawMessage, error) {
	if !json.Valid(text) {
		var v any
		var se *json.SyntaxError
		if err := json.Unmarshal(text, &v); errors.As(err, &se) {
			return nil, fmt.Errorf("the value is not valid JSON (syntax error at byte %d)", se.Offset)
		}
		return nil, errors.New("the value is not valid JSON")
	}
	if string(bytes.TrimSpace(text)) == "null" {
		return nil, errors.New("null cannot be stored; use \"vaultdb rm\" to remove an entry")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, text); err != nil {
		return nil, errors.New("the value is not valid JSON")
	}
	return buf.Bytes(), nil
}

// Field is one member of a JSON object, in document order.
type Field = jsonobj.Member

// ParseObject returns the members of a JSON object in their order, a
// repeated key read as JSON.parse reads it (its last value).
func ParseObject(v []byte) ([]Field, error) { return jsonobj.Parse(v) }

// MarshalObject is the inverse of ParseObject.
func MarshalObject(fs []Field) json.RawMessage { return jsonobj.Marshal(fs) }

// GetField returns the member name of object v.
func GetField(v []byte, name string) (json.RawMessage, bool, error) {
	fs, err := ParseObject(v)
	if err != nil {
		return nil, false, err
	}
	val, ok := jsonobj.Get(fs, name)
	return val, ok, nil
}

// SetField returns object v (nil: a new object) with member name set to
// val, the other members kept in their order.
func SetField(v []byte, name string, val json.RawMessage) (json.RawMessage, error) {
	var fs []Field
	if v != nil {
		var err error
		if fs, err = ParseObject(v); err != nil {
			return nil, err
		}
	}
	if i := jsonobj.Index(fs, name); i >= 0 {
		fs[i].Value = val
	} else {
		fs = append(fs, Field{Key: name, Value: val})
	}
	return MarshalObject(fs), nil
}

// KindOf names the JSON type of v, for messages.
func KindOf(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// Text is what "get" prints or copies of a value: a JSON string as its
// raw content, anything else as indented JSON.
func Text(v []byte) ([]byte, error) {
	var s string
	if len(v) > 0 && v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
	return Indent(v)
}

// ErrNoPassword is CopyValue's error for an object without a "password"
// field: which of its fields to copy is the user's choice (offer Fields).
var ErrNoPassword = errors.New(`the object has no "password" field; choose the field to copy`)

// CopyValue is the part of value v that a copy takes when no field is
// named ("vaultdb get -c", the web page's Copy): an object's "password"
// field, as "pass show -c" copies the password, never the whole object
// with its other secrets (a TOTP secret, say); any other value whole, to
// be copied as its Text. field is "password" when that field was taken.
func CopyValue(v []byte) (val json.RawMessage, field string, err error) {
	if KindOf(v) != "an object" {
		return v, "", nil
	}
	fv, ok, err := GetField(v, "password")
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", ErrNoPassword
	}
	return fv, "password", nil
}

// Fields returns the names of object v's fields in their order (nil for
// anything else), to offer when a copy needs one.
func Fields(v []byte) []string {
	fs, err := ParseObject(v)
	if err != nil {
		return nil
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Key
	}
	return names
}

// maxSegment is the longest name Segment makes, in bytes.
const maxSegment = 200

// Segment turns a title or group name into a valid path segment:
// "/" becomes "-", control characters become spaces, spaces are trimmed,
// "." and ".." become "_" and "__"; "" stays "".
func Segment(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return '-'
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxSegment {
		cut := maxSegment
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	switch s {
	case ".":
		return "_"
	case "..":
		return "__"
	}
	return s
}

// String returns the JSON string for s, which should be UTF-8 (invalid
// bytes are replaced).
func String(s string) json.RawMessage {
	b, err := MarshalText([]byte(s))
	if err != nil {
		b, _ = MarshalText([]byte(strings.ToValidUTF8(s, "\uFFFD")))
	}
	return b
}
