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

// A multi-line paste at the hidden prompt of set: refused whole, with
// nothing left over for the shell to run (issue 19 point 6).
func TestSetPromptMultiLinePaste(t *testing.T) {
	for _, c := range []struct{ name, paste string }{
		{"plain", "line one\nline two\nrm -rf important\n"},
		{"bracketed", "\x1b[200~line one\nline two\nrm -rf important\n\x1b[201~"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			s.must("", "init", "--iterations", "1000")
			p := s.startPTY(nil, "set", "x")
			p.expect("Value for /x: ")
			p.typ(c.paste)
			code := p.wait()
			if code == 0 {
				t.Errorf("a multi-line paste was accepted; the terminal shows %q", p.output())
			}
			if !strings.Contains(p.output(), "several lines") || !strings.Contains(p.output(), "edit") {
				t.Errorf("the terminal shows %q, not why and what to do", p.output())
			}
			if n := p.pendingInput(); n != 0 {
				t.Errorf("%d bytes of the paste are left for the shell to run", n)
			}
			check(t, s.run("", nil, "get", "x"), 3, "", "no such entry")
		})
	}
	// One line, typed or pasted, is stored; bracketed paste is asked for.
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	p := s.startPTY(nil, "set", "x")
	p.expect("Value for /x: ")
	p.typ("\x1b[200~pasted one\x1b[201~\r")
	p.expect("Retype value: ")
	p.typ("pasted onX\x7fe\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; the terminal shows %q", code, p.output())
	}
	if !strings.Contains(p.output(), "\x1b[?2004h") || !strings.Contains(p.output(), "\x1b[?2004l") {
		t.Errorf("bracketed paste was not switched on and off: %q", p.output())
	}
	check(t, s.run("", nil, "get", "x"), 0, "pasted one\n", "")
}

// Ctrl-D at the passphrase prompt cancels (issue 19 point 13).
func TestPassphrasePromptCtrlD(t *testing.T) {
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.env = s.env[:2] // no VAULTDB_PASSPHRASE: asked on the terminal
	p := s.startPTY(nil, "get", "x")
	p.expect("Passphrase for ")
	p.typ("\x04")
	if code := p.wait(); code != 130 {
		t.Errorf("exit %d, want 130; the terminal shows %q", code, p.output())
	}
	if !strings.Contains(p.output(), "cancelled") {
		t.Errorf("the terminal shows %q", p.output())
	}
}

// set --generate takes the length as "generate" does, and its options
// (issue 19 point 10).
func TestSetGenerateOptions(t *testing.T) {
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	out := s.must("", "set", "--generate", "32", "x")
	if len(out) != 33 {
		t.Errorf("set --generate 32 x printed %q", out)
	}
	check(t, s.run("", nil, "get", "x"), 0, out, "")
	out = s.must("", "set", "-f", "y", "--generate", "40", "--no-symbols")
	if len(out) != 41 || strings.Trim(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\n") != "" {
		t.Errorf("set --generate 40 --no-symbols printed %q", out)
	}
	out = s.must("", "set", "--generate", "--words", "5", "--separator", ".", "z")
	if w := strings.Split(strings.TrimSpace(out), "."); len(w) != 5 {
		t.Errorf("set --generate --words 5 printed %q", out)
	}
	check(t, s.run("", nil, "get", "z"), 0, out, "")
	check(t, s.run("", nil, "set", "--no-symbols", "w"), 2, "", "--generate")
	check(t, s.run("", nil, "set", "--generate", "a", "b"), 2, "", "")
}
