package entry

import (
	"strings"
	"testing"
)

func TestParseValue(t *testing.T) {
	t.Parallel()
	if v, err := ParseValue([]byte(` { "a" : 1 } `)); err != nil || string(v) != `{"a":1}` {
		t.Errorf("ParseValue = %s, %v", v, err)
	}
	for _, bad := range []string{"null", " null\n", `{"secret`, ""} {
		_, err := ParseValue([]byte(bad))
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseValue(%q): %v", bad, err)
		}
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	v, err := SetField([]byte(`{"b":1,"a":2,"b":3}`), "c", String("x"))
	if err != nil || string(v) != `{"b":3,"a":2,"c":"x"}` {
		t.Fatalf("SetField = %s, %v", v, err)
	}
	v, _ = SetField(v, "a", String("<&>"))
	if string(v) != `{"b":3,"a":"<&>","c":"x"}` {
		t.Errorf("SetField of an existing field = %s", v)
	}
	if got, ok, err := GetField(v, "b"); err != nil || !ok || string(got) != "3" {
		t.Errorf("GetField = %s, %v, %v", got, ok, err)
	}
	if _, ok, _ := GetField(v, "z"); ok {
		t.Error("GetField found a missing field")
	}
	if _, _, err := GetField([]byte(`"text"`), "a"); err == nil {
		t.Error("GetField of a string: no error")
	}
}

func TestTextAndKind(t *testing.T) {
	t.Parallel()
	if b, err := Text([]byte(`"a\nb"`)); err != nil || string(b) != "a\nb" {
		t.Errorf("Text(string) = %q, %v", b, err)
	}
	if b, err := Text([]byte(`{"a":1}`)); err != nil || string(b) != "{\n  \"a\": 1\n}" {
		t.Errorf("Text(object) = %q, %v", b, err)
	}
	if _, err := MarshalText([]byte("\xff")); err == nil {
		t.Error("MarshalText accepted bytes that are not UTF-8")
	}
	for v, want := range map[string]string{`"x"`: "a string", ` {}`: "an object", `[1]`: "an array", `true`: "a boolean", `null`: "null", `-1`: "a number", ``: "nothing"} {
		if got := KindOf([]byte(v)); got != want {
			t.Errorf("KindOf(%s) = %s, want %s", v, got, want)
		}
	}
}

func TestSegment(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a/b": "a-b", " x\ty ": "x y", ".": "_", "..": "__", "": "", "\xff": "\uFFFD",
		strings.Repeat("é", 150): strings.Repeat("é", 100)} {
		if got := Segment(in); got != want {
			t.Errorf("Segment(%q) = %q, want %q", in, got, want)
		}
	}
}
