package cli

import (
	"strings"
	"testing"
	"time"
)

func TestCompletePaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	for _, p := range []string{"github/password", "github/token", "gitlab/x", "mail", "work/a/b"} {
		e.must("v", "set", p)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "gi"}, "github/\ngitlab/\n:6\n"},
		{[]string{"get", "github/"}, "github/password\ngithub/token\n:4\n"},
		{[]string{"get", "/github/t"}, "/github/token\n:4\n"},
		{[]string{"get", ""}, "github/\ngitlab/\nmail\nwork/\n:6\n"},
		{[]string{"get", "m"}, "mail\n:4\n"},
		{[]string{"get", "nothing/"}, ":4\n"},
		{[]string{"get", "mail", ""}, ":4\n"}, // get takes one PATH
		{[]string{"ls", ""}, "github/\ngitlab/\nwork/\n:6\n"},
		{[]string{"ls", "work/"}, "work/a/\n:6\n"},
		{[]string{"rm", "work/a/"}, "work/a/b\n:4\n"},
		{[]string{"set", "mai"}, "mail\n:4\n"},
		{[]string{"edit", "mai"}, "mail\n:4\n"},
		{[]string{"mv", "mail", "gitl"}, "gitlab/\n:6\n"},
		{[]string{"mv", "mail", "x", ""}, ":4\n"},
		{[]string{"export", "w"}, "work/\n:6\n"},
	}
	for _, c := range cases {
		r := e.run(false, "", append([]string{"__complete"}, c.args...)...)
		if r.code != 0 || r.out != c.want {
			t.Errorf("__complete %q = %d %q, want %q (stderr %q)", c.args, r.code, r.out, c.want, r.errOut)
		}
	}
	// totp completes entry names besides its subcommands.
	if r := e.run(false, "", "__complete", "totp", "gith"); !strings.Contains(r.out, "github/\n") {
		t.Errorf("totp completion %q", r.out)
	}
}

// Without a passphrase available non-interactively, completion is empty,
// quick, and never prompts, even on a terminal.
func TestCompleteWithoutPassphrase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("v", "set", "github/password")
	delete(e.vars, envPassphrase)
	start := time.Now()
	r := e.run(true, "", "__complete", "get", "gi")
	if r.code != 0 || r.out != ":4\n" {
		t.Errorf("completion without passphrase: %d %q", r.code, r.out)
	}
	if len(e.prompter.prompts) != 0 {
		t.Errorf("prompted: %q", e.prompter.prompts)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	// A passphrase file is used.
	pf := writeFile(t, "pf", "pw\n")
	if r := e.run(false, "", "__complete", "--passphrase-file", pf, "get", "gi"); r.out != "github/\n:6\n" {
		t.Errorf("with --passphrase-file: %q (stderr %q)", r.out, r.errOut)
	}
	// A wrong passphrase, or no store: nothing either.
	e.vars[envPassphrase] = "wrong"
	if r := e.run(false, "", "__complete", "get", "gi"); r.out != ":4\n" {
		t.Errorf("wrong passphrase: %q", r.out)
	}
	e.vars[envStore] = t.TempDir()
	if r := e.run(false, "", "__complete", "get", "gi"); r.out != ":4\n" {
		t.Errorf("no store: %q", r.out)
	}
}
