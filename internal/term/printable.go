package term

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vaultdb/vaultdb/internal/confusable"
)

// Printable returns s safe to show on a terminal: control characters (C0,
// DEL, C1), the bidirectional controls that reorder what follows them,
// zero-width characters and invalid UTF-8 are shown as escapes (\x1b,
// \u202e), so that a name from a store or an import file can neither
// drive the terminal nor pose as another name. Everything else is kept.
func Printable(s string) string {
	if !NeedsEscape(s) {
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
		case confusable.Invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// NeedsEscape reports whether Printable would change s.
func NeedsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || r < 0x20 || r == 0x7f || confusable.Invisible(r) {
			return true
		}
		i += n
	}
	return false
}
