package words

import (
	"regexp"
	"testing"
)

func TestList(t *testing.T) {
	l := List()
	if Len() != len(l) {
		t.Errorf("Len() = %d, but the list has %d words", Len(), len(l))
	}
	if len(l) < 4096 {
		t.Fatalf("word list has %d words, want at least 4096", len(l))
	}
	re := regexp.MustCompile(`^[a-z]{3,8}$`)
	seen := make(map[string]bool, len(l))
	for _, w := range l {
		if !re.MatchString(w) {
			t.Errorf("bad word %q", w)
		}
		if seen[w] {
			t.Errorf("duplicate word %q", w)
		}
		seen[w] = true
	}
}
