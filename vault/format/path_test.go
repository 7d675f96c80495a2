package format

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestCheckPath(t *testing.T) {
	valid := []string{
		"/", "/a", "/a/", "/a/b", "/a/b/", "/.a", "/a.", "/...", "/a b", "/é/😀",
		"/\ue000", "/a/\u00a0", "/" + strings.Repeat("x", MaxPathLen-1),
	}
	for _, p := range valid {
		if err := CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q) = %v, want nil", p, err)
		}
	}
	invalid := map[string]string{
		"":                                    "empty",
		"a":                                   "start",
		"a/":                                  "start",
		"//":                                  "empty segment",
		"/a//b":                               "empty segment",
		"/a//":                                "empty segment",
		"/.":                                  `"."`,
		"/./":                                 `"."`,
		"/a/..":                               `"."`,
		"/../a":                               `"."`,
		"/a\x00":                              "control",
		"/a\nb":                               "control",
		"/a\x7f":                              "control",
		"/a\u0085":                            "control",
		"/a\u009f":                            "control",
		"/a\xff":                              "UTF-8",
		"/" + strings.Repeat("x", MaxPathLen): "4096",
	}
	for p, reason := range invalid {
		err := CheckPath(p)
		var pe *PathError
		if !errors.Is(err, ErrInvalidPath) || !errors.As(err, &pe) || pe.Path != p {
			t.Errorf("CheckPath(%q) = %v, want a PathError", p, err)
			continue
		}
		if !strings.Contains(err.Error(), reason) {
			t.Errorf("CheckPath(%q) = %q, want it to mention %q", p, err, reason)
		}
	}
	if err := CheckPath("/a\nb"); err.Error() != `invalid path "/a\nb": contains a control character` {
		t.Errorf("path not quoted: %v", err)
	}
}

func TestCheckDocDir(t *testing.T) {
	for p, want := range map[string][2]bool{ // doc ok, dir ok
		"/":    {false, true},
		"/a":   {true, false},
		"/a/":  {false, true},
		"//":   {false, false},
		"/a/b": {true, false},
	} {
		if got := CheckDoc(p) == nil; got != want[0] {
			t.Errorf("CheckDoc(%q) ok = %v", p, got)
		}
		if got := CheckDir(p) == nil; got != want[1] {
			t.Errorf("CheckDir(%q) ok = %v", p, got)
		}
	}
	if err := CheckDoc("/a/"); !errors.Is(err, ErrInvalidPath) || !strings.Contains(err.Error(), "is a directory path") {
		t.Errorf("CheckDoc(/a/) = %v", err)
	}
}

func TestPathParts(t *testing.T) {
	tests := []struct {
		p, parent, name string
		ancestors       []string
	}{
		{"/", "", "", nil},
		{"/a", "/", "a", []string{"/"}},
		{"/a/", "/", "a/", []string{"/"}},
		{"/a/b", "/a/", "b", []string{"/", "/a/"}},
		{"/a/b/", "/a/", "b/", []string{"/", "/a/"}},
		{"/a/b/c", "/a/b/", "c", []string{"/", "/a/", "/a/b/"}},
		{"/é/😀/", "/é/", "😀/", []string{"/", "/é/"}},
		{"", "", "", nil},
		{"junk", "", "junk", nil},
	}
	for _, tt := range tests {
		if got := Parent(tt.p); got != tt.parent {
			t.Errorf("Parent(%q) = %q, want %q", tt.p, got, tt.parent)
		}
		if got := Name(tt.p); got != tt.name {
			t.Errorf("Name(%q) = %q, want %q", tt.p, got, tt.name)
		}
		if got := Ancestors(tt.p); !slices.Equal(got, tt.ancestors) {
			t.Errorf("Ancestors(%q) = %q, want %q", tt.p, got, tt.ancestors)
		}
	}
	if !IsDir("/") || !IsDir("/a/") || IsDir("/a") {
		t.Error("IsDir")
	}
}

// utf16Compare is the definition of JavaScript's order, for valid UTF-8.
func utf16Compare(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func TestCompare(t *testing.T) {
	// Byte order puts U+E000 (EE 80 80) before U+1F600 (F0 9F 98 80);
	// JavaScript puts the surrogate pair (D83D DE00) first.
	if Compare("\ue000", "😀") != 1 || Compare("😀", "\ue000") != -1 {
		t.Error("U+E000 must sort after U+1F600")
	}
	if strings.Compare("\ue000", "😀") != -1 {
		t.Fatal("the test assumes byte order differs")
	}
	got := []string{"\ue000", "😀", "é", "a", "Z", "\uffff", "\U00010000", "", "a/", "a"}
	Sort(got)
	want := []string{"", "Z", "a", "a", "a/", "é", "\U00010000", "😀", "\ue000", "\uffff"}
	if !slices.Equal(got, want) {
		t.Errorf("Sort = %q, want %q", got, want)
	}

	alphabet := []rune{'a', 'b', '/', 0x7f, 0xe9, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	rnd := rand.New(rand.NewPCG(1, 2))
	randString := func() string {
		var sb strings.Builder
		for range rnd.IntN(5) {
			sb.WriteRune(alphabet[rnd.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for range 20000 {
		a, b := randString(), randString()
		if rnd.IntN(3) == 0 {
			b = a + b
		}
		if got, want := Compare(a, b), utf16Compare(a, b); got != want {
			t.Fatalf("Compare(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
}

// TestCompareInvalidUTF8 checks Compare is a total order even on bytes no
// JavaScript string can produce, so that sorting never misbehaves.
func TestCompareInvalidUTF8(t *testing.T) {
	pieces := []string{"a", "\xff", "\x80", "\xe2\x82", "€", "😀", "\ue000", "\xf0\x9f"}
	var all []string
	for _, x := range pieces {
		for _, y := range pieces {
			all = append(all, x+y, x)
		}
	}
	for _, a := range all {
		for _, b := range all {
			c := Compare(a, b)
			if c != -Compare(b, a) || (c == 0) != (a == b) {
				t.Fatalf("Compare(%q, %q) = %d is not antisymmetric or not exact", a, b, c)
			}
			if utf8.ValidString(a) && utf8.ValidString(b) && c != utf16Compare(a, b) {
				t.Fatalf("Compare(%q, %q) = %d", a, b, c)
			}
			for _, d := range all {
				if c < 0 && Compare(b, d) < 0 && Compare(a, d) >= 0 {
					t.Fatalf("not transitive: %q < %q < %q", a, b, d)
				}
			}
		}
	}
}
