// Package strength estimates how hard a passphrase is to guess, in bits:
// the log2 of the guesses an attacker needs who tries dictionary words,
// common passwords, years, repeats and sequences before random strings.
//
// It is a deliberately small model, not zxcvbn: the Go port of zxcvbn
// builds its dictionaries when the program starts, which would cost every
// vaultdb command (completion included) tens of milliseconds and 12 MB for
// a check that only init and passwd make. The model splits the passphrase
// into runs of letters, digits and other characters and adds up:
//
//   - letters: a word of the word list (15 bits, +1 if capitalised, +len
//     if mixed case otherwise), else log2(26) per letter (log2(52) if
//     mixed case);
//   - digits: a year 1900-2099 is 8 bits, else log2(10) per digit;
//   - other ASCII: log2(33) per character, but a single separator between
//     two words is 3 bits; a non-ASCII character is 10 bits;
//   - a run of one repeated character, or an ascending or descending
//     sequence (abcd, 4321), counts as its first character plus log2 of
//     its length;
//   - a passphrase that is, in lower case, one of a few dozen notorious
//     passwords (with digits or symbols added at the end) is 10 bits.
//
// It overestimates clever patterns it does not know (leet speak, keyboard
// walks): treat its verdict as a minimum bar, not a proof.
package strength

import (
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/vaultdb/vaultdb/internal/words"
)

// MinBits is the estimate below which a passphrase is called weak: 2^45
// guesses at the default PBKDF2 cost are years of a GPU farm.
const MinBits = 45

// notorious are passwords every cracking list starts with.
var notorious = []string{
	"password", "passw0rd", "123456", "12345678", "123456789", "1234567890",
	"qwerty", "qwertyuiop", "azerty", "asdfgh", "letmein", "iloveyou",
	"admin", "welcome", "monkey", "dragon", "football", "baseball",
	"master", "sunshine", "princess", "shadow", "superman", "trustno1",
	"abc123", "111111", "000000", "654321", "secret", "changeme", "login",
	"starwars", "whatever", "hello", "freedom", "default", "root", "toor",
}

var (
	dictOnce sync.Once
	dict     map[string]bool
)

func isWord(w string) bool {
	dictOnce.Do(func() {
		l := words.List()
		dict = make(map[string]bool, len(l))
		for _, x := range l {
			dict[x] = true
		}
	})
	return dict[w]
}

// Bits returns the estimated strength of p in bits.
func Bits(p string) float64 {
	if p == "" {
		return 0
	}
	lower := strings.ToLower(p)
	trimmed := strings.TrimRightFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if slices.Contains(notorious, lower) || slices.Contains(notorious, trimmed) {
		return 10
	}
	runes := []rune(p)
	var bits float64
	prevWord := false
	for i := 0; i < len(runes); {
		j := i + 1
		for j < len(runes) && class(runes[j]) == class(runes[i]) {
			j++
		}
		seg := runes[i:j]
		nextIsLetter := j < len(runes) && class(runes[j]) == classLetter
		switch class(runes[i]) {
		case classLetter:
			bits += letterBits(seg)
			prevWord = true
			i = j
			continue
		case classDigit:
			bits += digitBits(seg)
		case classOther:
			if len(seg) == 1 && prevWord && nextIsLetter && seg[0] < 0x80 {
				bits += 3 // a separator between words
			} else {
				bits += patternBits(seg, math.Log2(33))
			}
		default:
			bits += 10 * float64(len(seg))
		}
		prevWord = false
		i = j
	}
	return bits
}

const (
	classLetter = iota
	classDigit
	classOther
	classNonASCII
)

func class(r rune) int {
	switch {
	case r >= 0x80:
		return classNonASCII
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsDigit(r):
		return classDigit
	}
	return classOther
}

func letterBits(seg []rune) float64 {
	w := string(seg)
	lw := strings.ToLower(w)
	upper := 0
	for _, r := range seg {
		if unicode.IsUpper(r) {
			upper++
		}
	}
	if isWord(lw) {
		switch {
		case upper == 0 || upper == len(seg):
			return 15 + boolBits(upper > 0)
		case upper == 1 && unicode.IsUpper(seg[0]):
			return 16
		default:
			return 15 + float64(len(seg))
		}
	}
	per := math.Log2(26)
	if upper > 0 && upper < len(seg) {
		per = math.Log2(52)
	}
	return patternBits([]rune(lw), per)
}

func digitBits(seg []rune) float64 {
	if len(seg) == 4 && (strings.HasPrefix(string(seg), "19") || strings.HasPrefix(string(seg), "20")) {
		return 8
	}
	return patternBits(seg, math.Log2(10))
}

// patternBits is per bits for each character of seg, where runs of one
// character and ascending or descending sequences count as one character
// and log2 of their length.
func patternBits(seg []rune, per float64) float64 {
	var bits float64
	for i := 0; i < len(seg); {
		j := i + 1
		if j < len(seg) {
			d := seg[j] - seg[i]
			if d >= -1 && d <= 1 {
				for j+1 < len(seg) && seg[j+1]-seg[j] == d {
					j++
				}
				j++
			}
		}
		n := j - i
		if n >= 3 {
			bits += per + math.Log2(float64(n))
		} else {
			bits += per * float64(n)
		}
		i = j
	}
	return bits
}

func boolBits(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
