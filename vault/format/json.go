package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	if s, ok := unmarshalPlainStrings(data); ok {
		return s, nil
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '[' {
		return nil, errNotStringArray
	}
	// A null element decodes as "", which no path or name may be: the
	// callers' checks refuse it.
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

// unmarshalPlainStrings decodes the common form of a string array, the
// one this package and the reference's JSON.stringify write: no
// whitespace, no escape, valid UTF-8. It reports false for anything else,
// which unmarshalStrings then decodes with encoding/json; where it reports
// true it returns what encoding/json would (FuzzUnmarshalPlainStrings).
// Decoding listings and shard indexes with encoding/json was 6% of an
// import's CPU; all names share one allocation here.
func unmarshalPlainStrings(data []byte) ([]string, bool) {
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' || !utf8.Valid(data) {
		return nil, false
	}
	body := string(data[1 : len(data)-1])
	out := make([]string, 0, strings.Count(body, `","`)+1)
	for i := 0; i < len(body); {
		if body[i] != '"' {
			return nil, false
		}
		j := i + 1
		for ; j < len(body) && body[j] != '"'; j++ {
			if c := body[j]; c == '\\' || c < 0x20 {
				return nil, false
			}
		}
		if j == len(body) {
			return nil, false
		}
		out = append(out, body[i+1:j])
		j++
		if j < len(body) && (body[j] != ',' || j == len(body)-1) {
			return nil, false
		}
		i = j + 1
	}
	return out, true
}

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

// ParseList decodes the value of a directory into its child names. It does
// not validate them again: a directory item read from a shard was checked
// when it was decrypted (ParseListing, in the shard's value check), and
// one set by the engine is built from valid paths. The engine decodes
// listings on every planning step, so the check is not repeated there.
func ParseList(value json.RawMessage) ([]string, error) {
	s, err := unmarshalStrings(value)
	if err != nil {
		return nil, errListNotStrings
	}
	return s, nil
}

// ParseListing decodes the stored value of directory dir into its child
// names and validates them as paths typed by the user are: each name is one
// segment ("name", or "name/" for a directory) that makes a valid path
// below dir, and the names are sorted in JavaScript order without
// duplicates, as every writer stores them. A listing is store data, so
// hostile until checked: an empty name would make a recursive walk visit
// dir forever.
//
// The error never quotes a name: a listing that fails the checks may be a
// value line moved into the directory's slot, its "names" secrets.
func ParseListing(dir string, value json.RawMessage) ([]string, error) {
	s, err := unmarshalStrings(value)
	if err != nil {
		return nil, errListNotStrings
	}
	for i, name := range s {
		if err := checkName(dir, name); err != nil {
			return nil, corruptDetail(fmt.Sprintf("directory listing holds an invalid name (name %d of %d: %s)", i+1, len(s), err))
		}
		if i > 0 && Compare(s[i-1], name) >= 0 {
			return nil, corruptDetail(fmt.Sprintf("directory listing is not sorted or has duplicates (name %d of %d)", i+1, len(s)))
		}
	}
	return s, nil
}

var errListNotStrings = corruptDetail("directory listing is not a JSON array of strings")

// checkName reports why name is not a valid child name of directory dir
// (itself a valid directory path), without quoting it: what CheckPath
// would say of dir+name, without building it (listings are checked on
// every read).
func checkName(dir, name string) error {
	seg := strings.TrimSuffix(name, "/")
	switch {
	case seg == "":
		return errors.New("empty")
	case strings.IndexByte(seg, '/') >= 0:
		return errors.New("contains /")
	case seg == "." || seg == "..":
		return errors.New(`a "." or ".." segment`)
	case len(dir)+len(name) > MaxPathLen:
		return errors.New("longer than 4096 bytes as a path")
	case !utf8.ValidString(seg):
		return errors.New("not valid UTF-8")
	}
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c < 0x20 || c == 0x7f {
			return errors.New("contains a control character")
		}
	}
	// C1 controls are two bytes in UTF-8: 0xC2 0x80..0x9F.
	if strings.IndexByte(seg, 0xc2) >= 0 {
		for _, r := range seg {
			if r >= 0x80 && r <= 0x9f {
				return errors.New("contains a control character")
			}
		}
	}
	return nil
}

// isNull reports whether a valid JSON text is the literal null, which is
// not a storable value: it means "absent".
func isNull(v []byte) bool {
	return string(bytes.Trim(v, " \t\r\n")) == "null"
}
