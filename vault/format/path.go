package format

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxPathLen is the longest valid path, in bytes.
const MaxPathLen = 4096

// CheckPath reports whether p is a valid document or directory path. The
// checks run before any I/O so that a bad path never reaches the store.
func CheckPath(p string) error {
	bad := func(reason string) error { return &PathError{Path: p, Reason: reason} }
	switch {
	case p == "":
		return bad("path is empty")
	case len(p) > MaxPathLen:
		return bad("longer than 4096 bytes")
	case p[0] != '/':
		return bad("does not start with /")
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return bad("contains a control character")
		}
	}
	// The segment after the last "/" is empty for a directory path; that
	// one is the only empty segment allowed.
	for rest := p[1:]; ; {
		seg, after, more := strings.Cut(rest, "/")
		switch {
		case seg == "" && more:
			return bad("contains an empty segment")
		case seg == "." || seg == "..":
			return bad(`contains a "." or ".." segment`)
		case !more:
			return nil
		}
		rest = after
	}
}

// CheckDoc reports whether p is a valid document path.
func CheckDoc(p string) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	if IsDir(p) {
		return &PathError{Path: p, Reason: "is a directory path"}
	}
	return nil
}

// CheckDir reports whether p is a valid directory path.
func CheckDir(p string) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	if !IsDir(p) {
		return &PathError{Path: p, Reason: "is not a directory path (it does not end with /)"}
	}
	return nil
}

// IsDir reports whether p names a directory, which is purely syntactic.
func IsDir(p string) bool { return strings.HasSuffix(p, "/") }

// Parent returns the directory that lists p, or "" for "/" (and for strings
// that are not paths).
func Parent(p string) string {
	p = strings.TrimSuffix(p, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i+1]
}

// Name returns the name under which p's parent lists it: the last segment,
// with a trailing "/" for a directory. Name("/") is "".
func Name(p string) string {
	if p == "/" {
		return ""
	}
	return p[len(Parent(p)):]
}

// Ancestors returns every directory above p, top-down: the directories that
// must list the way down to p for the safety invariant to hold.
func Ancestors(p string) []string {
	var out []string
	for d := Parent(p); d != ""; d = Parent(d) {
		out = append(out, d)
	}
	slices.Reverse(out)
	return out
}

// Compare orders strings as JavaScript does, by UTF-16 code units, which
// differs from byte order when a character above U+FFFF (a surrogate pair,
// 0xD800..0xDFFF) meets one in U+E000..U+FFFF. The index and listings are
// sorted this way so that the reference implementation agrees.
//
// Invalid UTF-8 cannot come from JavaScript; each invalid byte sorts after
// every code unit so that Compare stays a total order on any input.
func Compare(a, b string) int {
	// Skip the common prefix up to its last ASCII byte: a decoding boundary
	// in any byte string, so decoding can restart there.
	start := 0
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] < utf8.RuneSelf {
			start = i + 1
		}
	}
	ua := utf16Units{s: a[start:]}
	ub := utf16Units{s: b[start:]}
	for {
		x, okA := ua.next()
		y, okB := ub.next()
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
}

// Sort sorts s in JavaScript string order.
func Sort(s []string) { slices.SortFunc(s, Compare) }

// utf16Units yields the UTF-16 code units of a string; an invalid byte b
// yields 0x10000+b, outside the range of code units.
type utf16Units struct {
	s   string
	low rune // pending low surrogate, or 0
}

func (u *utf16Units) next() (rune, bool) {
	if u.low != 0 {
		r := u.low
		u.low = 0
		return r, true
	}
	if u.s == "" {
		return 0, false
	}
	r, n := utf8.DecodeRuneInString(u.s)
	if r == utf8.RuneError && n == 1 {
		r = 0x10000 + rune(u.s[0])
		u.s = u.s[1:]
		return r, true
	}
	u.s = u.s[n:]
	if r >= 0x10000 {
		r -= 0x10000
		u.low = 0xDC00 + r&0x3FF
		return 0xD800 + r>>10, true
	}
	return r, true
}
