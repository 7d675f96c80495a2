// Package passgen makes passwords: characters or words chosen uniformly
// at random (rejection sampling, no modulo bias) from a reader of random
// bytes, crypto/rand's in use and a fixed one in tests.
package passgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/vaultdb/vaultdb/internal/words"
)

const (
	Alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	Symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// Chars returns n characters chosen uniformly from the letters and digits
// of ASCII, and its punctuation too withSymbols.
func Chars(r io.Reader, n int, withSymbols bool) ([]byte, error) {
	set := Alnum
	if withSymbols {
		set += Symbols
	}
	out := make([]byte, n)
	for i := range out {
		k, err := Uniform(r, len(set))
		if err != nil {
			return nil, err
		}
		out[i] = set[k]
	}
	return out, nil
}

// Words returns n words chosen uniformly from the word list.
func Words(r io.Reader, n int, sep string) ([]byte, error) {
	list := words.List()
	chosen := make([]string, n)
	for i := range chosen {
		k, err := Uniform(r, len(list))
		if err != nil {
			return nil, err
		}
		chosen[i] = list[k]
	}
	return []byte(strings.Join(chosen, sep)), nil
}

// Uniform returns a uniformly distributed number in [0, n), 0 < n < 2^32,
// by rejection sampling: 32-bit values at or above the largest multiple of
// n are drawn again, so that no remainder is more likely than another.
func Uniform(r io.Reader, n int) (int, error) {
	limit := (1 << 32) / uint64(n) * uint64(n)
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("no random numbers: %w", err)
		}
		v := uint64(binary.BigEndian.Uint32(b[:]))
		if v < limit {
			return int(v % uint64(n)), nil
		}
	}
}
