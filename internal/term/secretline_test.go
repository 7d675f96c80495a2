package term

import (
	"errors"
	"strings"
	"testing"
)

func TestSecretLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		pending bool // input waits after the line end
		want    string
		err     error
	}{
		{"secret\r", false, "secret", nil},
		{"secret\n", false, "secret", nil},
		{"sec\x7fcret\r", false, "secret", nil},
		{"ünï\x7f\x7fnïcode\r", false, "ünïcode", nil},
		{"junk\x15secret\r", false, "secret", nil},
		{"se\x1b[Dcret\r", false, "secret", nil}, // an arrow key is ignored
		{"\x04", false, "", ErrCancelled},
		{"", false, "", ErrCancelled},
		{"ab\x04c\r", false, "abc", nil},
		{"line one\r", true, "", ErrMultiLinePaste},
		{"\x1b[200~pasted\x1b[201~\r", false, "pasted", nil},
		{"\x1b[200~pasted\n\x1b[201~", false, "pasted", nil},
		{"\x1b[200~one\ntwo\x1b[201~", false, "", ErrMultiLinePaste},
		{"\x1b[200~one\r\ntwo\r\n\x1b[201~", false, "", ErrMultiLinePaste},
	}
	for _, c := range cases {
		drained := false
		got, err := SecretLine(strings.NewReader(c.in), func() bool { return c.pending }, func() { drained = true })
		if string(got) != c.want || !errors.Is(err, c.err) && err != c.err {
			t.Errorf("secretLine(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
		if drained != (c.err == ErrMultiLinePaste) {
			t.Errorf("secretLine(%q): drained %v", c.in, drained)
		}
	}
}
