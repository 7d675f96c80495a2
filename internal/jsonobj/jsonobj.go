// Package jsonobj reads and writes JSON objects as ordered lists of
// members, so that a rewrite keeps members in their order. It is the one
// parser of objects in vaultdb (config, entries, imports): a repeated key
// means what JSON.parse makes of it, the first position with the last
// value.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Member is one member of an object.
type Member struct {
	Key   string
	Value json.RawMessage
}

// ErrNotObject is returned for valid JSON that is not an object.
var ErrNotObject = errors.New("not a JSON object")

// SyntaxError is invalid JSON; Offset is the byte where reading failed.
// The message never quotes the input, which may be a secret.
type SyntaxError struct{ Offset int64 }

func (e *SyntaxError) Error() string { return fmt.Sprintf("syntax error near byte %d", e.Offset) }

// Parse reads an object into its members in order; a repeated key keeps
// its first position and takes its last value.
func Parse(data []byte) ([]Member, error) {
	all, err := ParseAll(data)
	if err != nil {
		return nil, err
	}
	out := all[:0:0]
	for _, m := range all {
		if i := Index(out, m.Key); i >= 0 {
			out[i].Value = m.Value
		} else {
			out = append(out, m)
		}
	}
	return out, nil
}

// ParseAll reads an object into all its members as written, repeated keys
// included, for callers that report them.
func ParseAll(data []byte) ([]Member, error) {
	if !json.Valid(data) {
		var v any
		var se *json.SyntaxError
		if err := json.Unmarshal(data, &v); errors.As(err, &se) {
			return nil, &SyntaxError{se.Offset}
		}
		return nil, &SyntaxError{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var ms []Member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &SyntaxError{dec.InputOffset()}
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &SyntaxError{dec.InputOffset()}
		}
		ms = append(ms, Member{key, raw})
	}
	return ms, nil
}

// Index returns the position of key in ms, or -1.
func Index(ms []Member, key string) int {
	for i, m := range ms {
		if m.Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key.
func Get(ms []Member, key string) (json.RawMessage, bool) {
	if i := Index(ms, key); i >= 0 {
		return ms[i].Value, true
	}
	return nil, false
}

// Marshal writes the members as a compact object, in order. Values must be
// valid JSON.
func Marshal(ms []Member) json.RawMessage {
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.Key)
		b = append(b, ':')
		b = append(b, m.Value...)
	}
	return append(b, '}')
}

// appendString appends key as a JSON string the way JSON.stringify writes
// it: <, > and & as they are.
func appendString(b []byte, key string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(key) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
