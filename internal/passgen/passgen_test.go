package passgen

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/internal/words"
)

func TestUniformIsUnbiased(t *testing.T) {
	t.Parallel()
	// Feed every 32-bit value in the rejected tail first: they must all be
	// skipped, then values that map evenly are used.
	n := 94
	limit := (uint64(1) << 32) / uint64(n) * uint64(n)
	var buf bytes.Buffer
	for v := limit; v < 1<<32; v++ {
		buf.Write([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	buf.Write([]byte{0, 0, 0, 5})
	k, err := Uniform(&buf, n)
	if err != nil || k != 5 {
		t.Fatalf("Uniform = %d, %v; want 5 after rejecting the tail", k, err)
	}
	// Chi-square-ish sanity check of the real source.
	counts := make([]int, n)
	for range 94000 {
		k, _ := Uniform(rand.Reader, n)
		counts[k]++
	}
	for i, c := range counts {
		if c < 700 || c > 1300 {
			t.Errorf("value %d drawn %d times out of 94000", i, c)
		}
	}
	if _, err := Uniform(bytes.NewReader(nil), n); err == nil {
		t.Error("no error from an empty source")
	}
}

func TestCharsAndWords(t *testing.T) {
	t.Parallel()
	pw, err := Chars(rand.Reader, 64, false)
	if err != nil || len(pw) != 64 || strings.Trim(string(pw), Alnum) != "" {
		t.Fatalf("Chars(64, no symbols) = %q, %v", pw, err)
	}
	pw, err = Chars(rand.Reader, 200, true)
	if err != nil || len(pw) != 200 || strings.Trim(string(pw), Alnum+Symbols) != "" {
		t.Fatalf("Chars(200, symbols) = %q, %v", pw, err)
	}
	// A fixed source gives a fixed answer: index 0 of each alphabet.
	pw, err = Words(bytes.NewReader(make([]byte, 12)), 3, "-")
	first := words.List()[0]
	if err != nil || string(pw) != first+"-"+first+"-"+first {
		t.Fatalf("Words(3) from zeros = %q, %v", pw, err)
	}
	if _, err := Words(bytes.NewReader(make([]byte, 7)), 2, " "); err == nil {
		t.Error("Words: no error when the source runs dry")
	}
}
