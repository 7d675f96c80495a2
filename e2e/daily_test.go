package e2e

import (
	"strings"
	"testing"
)

// get -c on an object copies its password, never the whole object with
// its other secrets (issue 19 point 5).
func TestGetClipObject(t *testing.T) {
	display := startX(t)
	s := newStore(t)
	s.env = append(s.env, "DISPLAY="+display)
	s.must("", "init", "--iterations", "1000")
	s.must(`{"username":"me","password":"pw1","totp":"otpauth://totp/x?secret=`+e2eSecret+`"}`, "set", "--json", "web/site")
	s.must(`{"username":"me","token":"t0k"}`, "set", "--json", "api")

	r := s.run("", nil, "get", "-c", "--clip-timeout", "0", "web/site")
	check(t, r, 0, "", `Copied field "password" of /web/site`)
	if got := xclipOut(t, display); got != "pw1" {
		t.Errorf("clipboard holds %q, want the password", got)
	}
	xclipIn(t, display, "before")
	r = s.run("", nil, "get", "-c", "api")
	check(t, r, 2, "", "--field")
	if !strings.Contains(r.errOut, "token") {
		t.Errorf("the error does not name the fields: %q", r.errOut)
	}
	if got := xclipOut(t, display); got != "before" {
		t.Errorf("clipboard holds %q after a refused copy", got)
	}
	s.must("", "get", "-c", "--clip-timeout", "0", "api", "--field", "token")
	if got := xclipOut(t, display); got != "t0k" {
		t.Errorf("clipboard holds %q, want the token", got)
	}
}
