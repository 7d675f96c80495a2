package entry

import (
	"errors"
	"slices"
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

// TestCopyValue: the one copy rule of the command line and the page.
func TestCopyValue(t *testing.T) {
	for _, tc := range []struct {
		v, want, field string
		err            error
	}{
		{`"line one\nline two"`, `"line one\nline two"`, "", nil}, // a string whole, as get prints it
		{`{"user":"alice","password":"s3cret","totp":"JBSW"}`, `"s3cret"`, "password", nil},
		{`{"password":42}`, `42`, "password", nil},
		{`{"user":"alice","pin":"1234"}`, ``, "", ErrNoPassword},
		{`[1,2]`, `[1,2]`, "", nil},
		{`7`, `7`, "", nil},
	} {
		got, field, err := CopyValue([]byte(tc.v))
		if string(got) != tc.want || field != tc.field || !errors.Is(err, tc.err) {
			t.Errorf("CopyValue(%s) = %s, %q, %v; want %s, %q, %v", tc.v, got, field, err, tc.want, tc.field, tc.err)
		}
	}
	if got := Fields([]byte(`{"user":"alice","pin":"1234"}`)); !slices.Equal(got, []string{"user", "pin"}) {
		t.Errorf("Fields = %q", got)
	}
	if got := Fields([]byte(`"x"`)); got != nil {
		t.Errorf("Fields of a string = %q", got)
	}
}
