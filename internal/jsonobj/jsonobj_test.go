package jsonobj

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	ms, err := Parse([]byte(`{"a":1,"b":{"x":[1]},"a":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Key != "a" || string(ms[0].Value) != "2" || ms[1].Key != "b" {
		t.Fatalf("Parse = %v, want a=2 (first position, last value), b", ms)
	}
	if got := string(Marshal(ms)); got != `{"a":2,"b":{"x":[1]}}` {
		t.Errorf("Marshal = %s", got)
	}
	all, _ := ParseAll([]byte(`{"a":1,"a":2}`))
	if len(all) != 2 {
		t.Errorf("ParseAll kept %d members, want both", len(all))
	}
	if v, ok := Get(ms, "b"); !ok || string(v) != `{"x":[1]}` {
		t.Errorf("Get = %s, %v", v, ok)
	}
	if _, err := Parse([]byte(`[1]`)); !errors.Is(err, ErrNotObject) {
		t.Errorf("array: %v", err)
	}
	var se *SyntaxError
	if _, err := Parse([]byte(`{"a":secret}`)); !errors.As(err, &se) || se.Offset == 0 {
		t.Errorf("bad JSON: %v", err)
	} else if got := err.Error(); got != "syntax error near byte 6" {
		t.Errorf("message %q", got)
	}
	if got := string(Marshal([]Member{{"<&>", []byte("1")}})); got != `{"<&>":1}` {
		t.Errorf("Marshal escaped HTML: %s", got)
	}
	if got := string(Marshal(nil)); got != "{}" {
		t.Errorf("Marshal(nil) = %s", got)
	}
}
