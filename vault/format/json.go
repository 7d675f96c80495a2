package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// appendJSONString appends s as JSON.stringify writes it: only '"', '\\'
// and control characters are escaped, so no HTML escaping and U+2028/U+2029
// stay literal (encoding/json would escape them). Byte-identical output keeps
// listings and indexes written here equal to the reference's.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				// JavaScript strings cannot hold invalid UTF-8; write what
				// encoding/json would.
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				dst = append(dst, c)
			}
		}
		i++
	}
	return append(dst, '"')
}

// marshalStrings encodes a string array compactly, as JSON.stringify does.
func marshalStrings(s []string) []byte {
	n := 2
	for _, x := range s {
		n += len(x) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, x)
	}
	return append(b, ']')
}

// unmarshalStrings decodes a JSON array of strings. Unlike json.Unmarshal
// into a slice it rejects null, which is not an array. The error says
// nothing about the content: it may be decrypted data.
func unmarshalStrings(data []byte) ([]string, error) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '[' {
		return nil, errNotStringArray
	}
	var s []string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, errNotStringArray
	}
	if s == nil {
		s = []string{}
	}
	return s, nil
}

var errNotStringArray = corruptDetail("value is not a JSON array of strings")

// MarshalList returns the stored value of a directory: its child names as a
// JSON array, sorted in JavaScript order, without duplicates.
func MarshalList(names []string) json.RawMessage {
	s := append([]string(nil), names...)
	Sort(s)
	s = compactSorted(s)
	return marshalStrings(s)
}

func compactSorted(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// ParseList decodes the stored value of a directory into its child names.
func ParseList(value json.RawMessage) ([]string, error) {
	s, err := unmarshalStrings(value)
	if err != nil {
		return nil, errors.New("directory listing is not a JSON array of strings")
	}
	return s, nil
}

// isNull reports whether a valid JSON text is the literal null, which is
// not a storable value: it means "absent".
func isNull(v []byte) bool {
	return string(bytes.Trim(v, " \t\r\n")) == "null"
}
