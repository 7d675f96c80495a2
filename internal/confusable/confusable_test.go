package confusable

import "testing"

func TestSkeleton(t *testing.T) {
	t.Parallel()
	same := [][2]string{
		{"caf\u00e9", "cafe\u0301"},    // composed and decomposed
		{"paypal", "p\u0430yp\u0430l"}, // Cyrillic a
		{"github", "git\u200bhub"},     // zero-width space
		{"root", "r\u03bfot"},          // Greek omicron
	}
	for _, p := range same {
		if Skeleton(p[0]) != Skeleton(p[1]) {
			t.Errorf("%q and %q have different skeletons", p[0], p[1])
		}
	}
	if Skeleton("mail") == Skeleton("mall") {
		t.Error("different names share a skeleton")
	}
	if got := Describe("caf\u00e9", "cafe\u0301"); got != "the same letters, composed differently (Unicode NFC/NFD)" {
		t.Errorf("Describe(NFC, NFD) = %q", got)
	}
	if got := Describe("github", "git\u200bhub"); got != "they differ in invisible characters" {
		t.Errorf("Describe(zero width) = %q", got)
	}
	if got := Describe("paypal", "p\u0430yp\u0430l"); got != "they differ in look-alike letters from another script" {
		t.Errorf("Describe(Cyrillic) = %q", got)
	}
}

func TestHasHidden(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"plain": false, "caf\u00e9": false, "a\u202eb": true, "a\u00adb": true, "a\x1bb": true, "\u0085": true} {
		if HasHidden(s) != want {
			t.Errorf("HasHidden(%q) = %v", s, !want)
		}
	}
}
