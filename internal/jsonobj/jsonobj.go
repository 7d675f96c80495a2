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
	"strings"
	"unicode/utf8"
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
//
// It scans the bytes itself once json.Valid has accepted them: a
// json.Decoder's token API made parsing the config a sixth of the model
// checker's time (every client of every schedule opens the store).
// FuzzParseAllMatchesDecoder checks it against the decoder.
func ParseAll(data []byte) ([]Member, error) {
	if !json.Valid(data) {
		var v any
		var se *json.SyntaxError
		if err := json.Unmarshal(data, &v); errors.As(err, &se) {
			return nil, &SyntaxError{se.Offset}
		}
		return nil, &SyntaxError{}
	}
	// The members' values share one copy of the input, not the caller's
	// buffer, which the caller may wipe.
	b := bytes.Clone(data)
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return nil, ErrNotObject
	}
	var ms []Member
	if i = skipSpace(b, i+1); b[i] == '}' {
		return ms, nil
	}
	for {
		end := skipString(b, i)
		key := unquote(b[i:end])
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		vend := skipValue(b, i)
		ms = append(ms, Member{key, json.RawMessage(b[i:vend:vend])})
		if i = skipSpace(b, vend); b[i] == '}' {
			return ms, nil
		}
		i = skipSpace(b, i+1) // past the comma
	}
}

// The scanners below see only JSON that json.Valid accepted.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string that starts at b[i] (a quote).
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the end of the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number, true, false or null.
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// unquote decodes a string token as the decoder does (escapes resolved,
// invalid UTF-8 replaced).
func unquote(tok []byte) string {
	if inner := tok[1 : len(tok)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	json.Unmarshal(tok, &s) // a valid token always decodes
	return s
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
