package importer

import (
	"errors"
	"strings"
	"testing"
)

func TestPassValue(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"pw\n", `"pw"`},
		{"pw", `{"password":"pw","raw":"pw"}`},
		{"pw\nlogin: me\nurl: https://x.example/a:b\n", `{"password":"pw","login":"me","url":"https://x.example/a:b"}`},
		{"pw\nuser: me\nfree text\n\nmore\notpauth://totp/x?secret=AB\n",
			`{"password":"pw","user":"me","notes":"free text\n\nmore","totp":"otpauth://totp/x?secret=AB"}`},
		{"pw\r\nuser: me\r\n", `{"password":"pw","user":"me","raw":"pw\r\nuser: me\r\n"}`},
		{"pw\nurl: a\nurl: a\n", `{"password":"pw","url":"a","raw":"pw\nurl: a\nurl: a\n"}`},
		{"pw\nraw: x\n", `{"password":"pw","raw":"pw\nraw: x\n"}`},
		{"pw\nhttps://example.com/login\n", `{"password":"pw","notes":"https://example.com/login"}`},
		{"caf\xe9\n", `{"type":"binary","base64":"Y2Fm6Qo="}`},
	}
	for _, c := range cases {
		got, err := PassValue([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("PassValue(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestPassTextRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"pw\n", "pw", "pw\nuser: me\nnotes\n", "pw\r\nuser: me\r\n", "caf\xe9\n", "pw\nurl: a\nurl: a\n"} {
		v, err := PassValue([]byte(in))
		if err != nil {
			t.Fatalf("PassValue(%q): %v", in, err)
		}
		if text, ok := PassText(v); !ok || string(text) != in {
			t.Errorf("PassText(PassValue(%q)) = %q, %v", in, text, ok)
		}
	}
}

func TestReadJSON(t *testing.T) {
	t.Parallel()
	es, err := ReadJSON(strings.NewReader(`{"a/b": "x", "c": null, "a/b": {"k": 1}}`))
	if err != nil || len(es) != 3 {
		t.Fatalf("ReadJSON = %v, %v", es, err)
	}
	if es[0].Path != "a/b" || string(es[0].Value) != `"x"` || es[0].Err != nil {
		t.Errorf("first entry %+v", es[0])
	}
	if es[1].Err == nil {
		t.Error("null was accepted")
	}
	if es[2].Path != "a/b" || string(es[2].Value) != `{"k":1}` {
		t.Errorf("a path given twice is not reported twice: %+v", es[2])
	}
	if _, err := ReadJSON(strings.NewReader(`["secret"]`)); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("not an object: %v", err)
	}
}

func TestReadCSV(t *testing.T) {
	t.Parallel()
	in := "Group,Title,Username,Password,URL,Notes,TOTP\nRoot/Web,mail,me,pw,https://m.example,,\nRoot/Web,mail,me2,pw2,,,\n"
	es, err := ReadCSV(strings.NewReader(in))
	if err != nil || len(es) != 2 {
		t.Fatalf("ReadCSV = %v, %v", es, err)
	}
	if es[0].Path != "Web/mail" || es[1].Path != "Web/mail (2)" {
		t.Errorf("paths %q, %q", es[0].Path, es[1].Path)
	}
	if string(es[0].Value) != `{"username":"me","password":"pw","url":"https://m.example","notes":""}` {
		t.Errorf("value %s", es[0].Value)
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n")); !errors.Is(err, ErrCSVHeader) {
		t.Errorf("unknown header: %v", err)
	}
}
