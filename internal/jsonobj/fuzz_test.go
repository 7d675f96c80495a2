package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// parseAllDecoder is ParseAll as it was, on encoding/json's token API: the
// reference the scanner must agree with.
func parseAllDecoder(data []byte) ([]Member, error) {
	if !json.Valid(data) {
		return nil, &SyntaxError{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var ms []Member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		ms = append(ms, Member{key, raw})
	}
	return ms, nil
}

func FuzzParseAllMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, "{\n\t\"a\" : [1, {\"b\": \"}\"}] ,\r\n\"c\":null}",
		`{"k\"ey":"v\\","\u00e9":true,"x":false,"n":-1.5e+3}`, `[1]`, `"s"`, `12`, `null`, `{"a":{"b":{"c":[[],{}]}}}`,
		"{\"\xff\":1}", `{"a":"\ud800"}`, `{"a" 1}`, `{"a":1,}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseAll(data)
		want, werr := parseAllDecoder(data)
		var se *SyntaxError
		switch {
		case werr != nil || err != nil:
			if (werr == nil) != (err == nil) || errors.Is(werr, ErrNotObject) != errors.Is(err, ErrNotObject) ||
				errors.As(werr, &se) != errors.As(err, &se) {
				t.Fatalf("errors differ: %v, decoder %v", err, werr)
			}
		case !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0):
			t.Fatalf("members differ:\n%q\ndecoder:\n%q", got, want)
		}
	})
}

func BenchmarkParseConfigSized(b *testing.B) {
	data := []byte(`{"version":1,"password":{"salt":"c2FsdHNhbHRzYWx0c2FsdA==","iterations":600000},` +
		`"cipher":{"key":"a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=","iv":"aXZpdml2aXZpdml2","tag":"dGFndGFndGFndGFndGFn"},` +
		`"shards":{"n":4,"key":"c2hhcmRrZXlzaGFyZGtleXNoYXJka2V5c2hhcmRrZXk="}}`)
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
