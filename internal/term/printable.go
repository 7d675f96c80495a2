package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// printable returns s safe to show on a terminal: control characters (C0,
// DEL, C1), the bidirectional controls that reorder what follows them,
// zero-width characters and invalid UTF-8 are shown as escapes (\x1b,
// \u202e), so that a name from a store or an import file can neither
// drive the terminal nor pose as another name. Everything else is kept.
func printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hiddenRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || r < 0x20 || r == 0x7f || hiddenRune(r) {
			return true
		}
		i += n
	}
	return false
}

// hiddenRune reports the characters above ASCII that printable escapes:
// C1 controls, bidirectional controls, and zero-width or invisible
// formatting characters.
func hiddenRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x00ad, r == 0x180e: // zero width, soft hyphen
		return true
	}
	return false
}
