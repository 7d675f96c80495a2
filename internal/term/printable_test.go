package term

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain/name é 😀":        "plain/name é 😀",
		"a\x1b[31mred\x07":      `a\x1b[31mred\x07`,
		"tab\tnl\ncr\r":         `tab\x09nl\x0acr\x0d`,
		"del\x7f c1\u0085":      `del\x7f c1\u0085`,
		"evil\u202etxt.exe":     `evil\u202etxt.exe`,
		"zero\u200bwidth\ufeff": `zero\u200bwidth\ufeff`,
		"bad\xffutf8":           `bad\xffutf8`,
		"isolate\u2066x\u2069":  `isolate\u2066x\u2069`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
