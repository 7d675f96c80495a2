// Package confusable finds entry names that look like other names:
// invisible or direction-changing characters, composed and decomposed
// accents, Latin letters and their Cyrillic or Greek twins. Names are
// never changed (the reference implementation does not normalise them);
// these only say when to warn.
package confusable

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// HasHidden reports whether s holds an Invisible or a control character.
func HasHidden(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || Invisible(r) {
			return true
		}
	}
	return false
}

// Skeleton maps a name to a form in which names that look alike are
// equal: compatibility decomposition (NFKD), invisible characters removed,
// and letters of other scripts that look like Latin ones replaced by them.
// It is a small table in the spirit of Unicode's confusables (UTS #39),
// for the cases that make one name pose as another in a listing.
func Skeleton(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if Invisible(r) || (r >= 0xfe00 && r <= 0xfe0f) {
			continue
		}
		if l, ok := lookalikes[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Describe says what differs between two names with one Skeleton.
func Describe(a, b string) string {
	switch {
	case norm.NFC.String(a) == norm.NFC.String(b):
		return "the same letters, composed differently (Unicode NFC/NFD)"
	case HasHidden(a) || HasHidden(b):
		return "they differ in invisible characters"
	default:
		return "they differ in look-alike letters from another script"
	}
}

// lookalikes maps Cyrillic and Greek letters to the Latin letters they
// cannot be told from in most fonts.
var lookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S', 'Ү': 'Y', 'Ԛ': 'Q', 'Ԝ': 'W',
	// Greek
	'ο': 'o', 'ν': 'v', 'ρ': 'p', 'α': 'a', 'ι': 'i', 'κ': 'k', 'τ': 't', 'υ': 'u',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Latin look-alikes of digits and dotless i
	'ı': 'i', 'ℓ': 'l',
}

// Invisible reports the characters above ASCII that show as nothing or
// change how what follows them shows, and so let one name pose as another:
// C1 controls, bidirectional controls, and zero-width or invisible
// formatting characters.
func Invisible(r rune) bool {
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
