package strength

import "testing"

func TestBits(t *testing.T) {
	weak := []string{"", "a", "abc", "aaaaaaaaaaaaaaaaaaaa", "abcdefghijklmnop", "1234567890123",
		"password", "Password123!", "qwerty2024", "letmein", "monkey", "horse", "correct horse", "Summer2024"}
	strong := []string{"correct horse battery staple", "mellow-dune-garnet-ripple-octave",
		"x7#Kq9!vR2$mW4", "Gx8vQ2rLm9TzKp4w", "ünïcödé pässphräse wïth wörds"}
	for _, p := range weak {
		if b := Bits(p); b >= MinBits {
			t.Errorf("Bits(%q) = %.1f, want weak (< %d)", p, b, MinBits)
		}
	}
	for _, p := range strong {
		if b := Bits(p); b < MinBits {
			t.Errorf("Bits(%q) = %.1f, want strong (>= %d)", p, b, MinBits)
		}
	}
}
