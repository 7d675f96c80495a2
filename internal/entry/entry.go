package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/vaultdb/vaultdb/internal/jsonobj"
)

func jsonUnmarshal(v []byte, dst any) error { return json.Unmarshal(v, dst) }

// indentJSON returns v indented by two spaces.
func indentJSON(v []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, "", "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshalText returns the JSON string for text, which must be UTF-8.
// <, > and & are kept as they are.
func marshalText(text []byte) ([]byte, error) {
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

// parseValue checks that text is one JSON value that can be stored (not
// null). Its error never quotes the text, which may be a secret.
func parseValue(text []byte) (json.RawMessage, error) {
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

// field is one member of a JSON object, in document order.
type field = jsonobj.Member

// parseObject returns the members of a JSON object in their order, a
// repeated key read as JSON.parse reads it (its last value).
func parseObject(v []byte) ([]field, error) { return jsonobj.Parse(v) }

// marshalObject is the inverse of parseObject.
func marshalObject(fs []field) json.RawMessage { return jsonobj.Marshal(fs) }

// getField returns the member name of object v.
func getField(v []byte, name string) (json.RawMessage, bool, error) {
	fs, err := parseObject(v)
	if err != nil {
		return nil, false, err
	}
	val, ok := jsonobj.Get(fs, name)
	return val, ok, nil
}

// setField returns object v (nil: a new object) with member name set to
// val, the other members kept in their order.
func setField(v []byte, name string, val json.RawMessage) (json.RawMessage, error) {
	var fs []field
	if v != nil {
		var err error
		if fs, err = parseObject(v); err != nil {
			return nil, err
		}
	}
	if i := jsonobj.Index(fs, name); i >= 0 {
		fs[i].Value = val
	} else {
		fs = append(fs, field{Key: name, Value: val})
	}
	return marshalObject(fs), nil
}

// kindOf names the JSON type of v, for messages.
func kindOf(v []byte) string {
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
