package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
	"golang.org/x/text/unicode/norm"
)

// warnConfusable warns, before a new entry p is written, when its name
// holds invisible or bidirectional characters, or looks the same as a
// name already in its directory (composed and decomposed accents, Latin
// letters and their Cyrillic or Greek twins, zero-width characters). Names
// are never changed: the reference implementation does not normalise, and
// a store must mean the same to both. Failures to look are not errors:
// the write goes on and reports its own.
func warnConfusable(ctx context.Context, w io.Writer, t *vault.Task, p string) {
	if _, err := t.Get(ctx, p); !errors.Is(err, vault.ErrNotFound) {
		return // it exists (or cannot be read): not a new name
	}
	name := format.Name(p)
	if hasHidden(name) {
		fmt.Fprintf(w, "warning: the name %s holds invisible or direction-changing characters; it may display like another name\n", printable(p))
	}
	names, err := t.List(ctx, format.Parent(p))
	if err != nil {
		return
	}
	sk := skeleton(name)
	for _, n := range names {
		if n == name || strings.HasSuffix(n, "/") || skeleton(n) != sk {
			continue
		}
		fmt.Fprintf(w, "warning: %s looks like the existing entry %s (%s); both are kept as typed\n",
			printable(p), printable(format.Parent(p)+n), howConfusable(name, n))
	}
}

// hasHidden reports characters that printable would escape: controls
// cannot be in a name, so these are bidi and zero-width ones.
func hasHidden(s string) bool { return needsEscape(s) }

// skeleton maps a name to a form in which names that look alike are
// equal: compatibility decomposition (NFKD), invisible characters removed,
// and letters of other scripts that look like Latin ones replaced by them.
// It is a small table in the spirit of Unicode's confusables (UTS #39),
// for the cases that make one name pose as another in a listing.
func skeleton(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if hiddenRune(r) || (r >= 0xfe00 && r <= 0xfe0f) {
			continue
		}
		if l, ok := lookalikes[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// howConfusable says what differs between two names with one skeleton.
func howConfusable(a, b string) string {
	switch {
	case norm.NFC.String(a) == norm.NFC.String(b):
		return "the same letters, composed differently (Unicode NFC/NFD)"
	case hasHidden(a) || hasHidden(b):
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
