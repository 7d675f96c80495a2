package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/vault/format"
	"golang.org/x/sys/unix"
)

// get -c on an object copies its password, never the whole object with
// its other secrets (issue 19 point 5).
func TestGetClipObject(t *testing.T) {
	t.Parallel()
	display := startX(t)
	s := newStore(t)
	s.env = append(s.env, "DISPLAY="+display)
	s.must("", "init", "--iterations", "1000")
	s.must(`{"username":"me","password":"pw1","totp":"otpauth://totp/x?secret=`+e2eSecret+`"}`, "set", "--json", "web/site")
	s.must(`{"username":"me","token":"t0k"}`, "set", "--json", "api")

	r := s.run("", nil, "get", "-c", "--clip-timeout", "0", "web/site")
	check(t, r, 0, "", `Copied field "password" of /web/site`)
	// xclip hands the selection to its background process: wait for it.
	waitFor(t, 3*time.Second, func() bool { return xclipOut(t, display) == "pw1" })
	xclipIn(t, display, "before")
	waitFor(t, 3*time.Second, func() bool { return xclipOut(t, display) == "before" })
	r = s.run("", nil, "get", "-c", "api")
	check(t, r, 2, "", "--field")
	if !strings.Contains(r.errOut, "token") {
		t.Errorf("the error does not name the fields: %q", r.errOut)
	}
	if got := xclipOut(t, display); got != "before" {
		t.Errorf("clipboard holds %q after a refused copy", got)
	}
	s.must("", "get", "-c", "--clip-timeout", "0", "api", "--field", "token")
	waitFor(t, 3*time.Second, func() bool { return xclipOut(t, display) == "t0k" })
}

// A multi-line paste at the hidden prompt of set: refused whole, with
// nothing left over for the shell to run (issue 19 point 6).
func TestSetPromptMultiLinePaste(t *testing.T) {
	t.Parallel()
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
			p.expect("several lines")
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
	t.Parallel()
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
	t.Parallel()
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

// The rough edges of issue 19 point 14: a stamped version, the --store
// argument named, "1 problem", rm of several paths.
func TestRoughEdges(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	r := s.run("", nil, "--version")
	check(t, r, 0, "*", "")
	if !strings.HasPrefix(r.out, "vaultdb version ") || strings.Contains(r.out, "version dev\n") {
		t.Errorf("--version prints %q", r.out)
	}
	if r := s.run("", nil, "--help"); !strings.Contains(r.out, "--store DIR|dropbox:/FOLDER") {
		t.Errorf("--help does not name the argument of --store:\n%s", r.out)
	}

	s.must("", "init", "--iterations", "1000")
	s.must("1", "set", "a/b")
	editItem(t, s.dir, "pw", "/", format.MarshalList([]string{"a/", "ghost"}))
	r = s.run("", nil, "fsck")
	check(t, r, 8, "*", "1 problem remains")
	if !strings.Contains(r.out, "1 problem found") {
		t.Errorf("fsck output: %s", r.out)
	}
	s.must("", "fsck", "--repair")

	for _, p := range []string{"x/1", "x/2", "y", "z/3"} {
		s.must("v", "set", p)
	}
	s.must("", "rm", "-f", "x/1", "y")
	check(t, s.run("", nil, "ls", "-r"), 0, "/a/b\n/x/2\n/z/3\n", "")
	s.must("", "rm", "-rf", "x", "z/")
	check(t, s.run("", nil, "ls", "-r"), 0, "/a/b\n", "")
	// A missing one among several: an error, checked before anything goes.
	check(t, s.run("", nil, "rm", "-f", "a/b", "nope"), 3, "", "nope")
	check(t, s.run("", nil, "ls", "-r"), 0, "/a/b\n", "")
	check(t, s.run("", nil, "fsck"), 0, "*", "")
}

// A binary built in a clone says which commit it is (issue 19 point 14).
func TestVersionStamped(t *testing.T) {
	t.Parallel()
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("git rev-parse HEAD: %v (CI runs in a clone)", err)
		}
		t.Skipf("not in a git clone: %v", err)
	}
	if fi, err := os.Stat("../.git"); err == nil && !fi.IsDir() {
		// The go command finds only a .git directory, not the .git file
		// of a linked worktree (CI runs in a clone, never in one).
		t.Skip("a linked git worktree: go build records no VCS information here")
	}
	exe := filepath.Join(t.TempDir(), "vaultdb")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", exe, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(exe, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := string(rev[:12]); !strings.Contains(string(out), want) {
		t.Errorf("--version prints %q, without the commit %s", out, want)
	}
}

// The bash completion works in a bash without the bash-completion package
// (issue 19 point 9).
func TestBashCompletionAlone(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("v", "set", "github/password")
	s.must("v", "set", "gitlab/token")
	script := fmt.Sprintf(`source <(vaultdb completion bash) || exit 1
if declare -F _init_completion >/dev/null; then echo "bash-completion is loaded"; exit 1; fi
compopt() { :; } # the builtin works only inside a real completion
COMP_WORDS=(vaultdb --store %[1]q get git)
COMP_CWORD=4
COMP_LINE="vaultdb --store %[1]s get git"
COMP_POINT=${#COMP_LINE}
__start_vaultdb vaultdb git --store
printf '%%s\n' "${COMPREPLY[@]}"
`, s.dir)
	c := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	c.Env = append(append([]string(nil), s.env...), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	out, err := c.CombinedOutput()
	if err != nil || string(out) != "github/\ngitlab/\n" {
		t.Errorf("completion in a bare bash: %v\n%s", err, out)
	}
}

// A clipboard that cannot be used says which tool, why, and what to do
// (issue 19 point 12).
func TestClipboardFailureMessages(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("v", "set", "x")
	// No display at all (an ssh session, a container).
	r := s.run("", []string{"DISPLAY=", "WAYLAND_DISPLAY="}, "get", "-c", "x")
	check(t, r, 1, "", "no graphical session")
	if !strings.Contains(r.errOut, "DISPLAY") {
		t.Errorf("stderr %q does not name DISPLAY", r.errOut)
	}
	// No tool installed.
	empty := t.TempDir()
	r = s.run("", []string{"DISPLAY=:0", "PATH=" + empty}, "get", "-c", "x")
	check(t, r, 1, "", "apt-get install xclip")
	if _, err := exec.LookPath("xclip"); err == nil {
		// A display that is not there: xclip's own reason.
		r = s.run("", []string{"DISPLAY=:987"}, "get", "-c", "x")
		check(t, r, 1, "", "xclip")
		if !strings.Contains(r.errOut, ":987") {
			t.Errorf("stderr %q does not say which display failed", r.errOut)
		}
	}
}

// A weak new passphrase is warned about, and on a terminal confirmed
// (issue 19 point 7).
func TestWeakPassphrase(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.env = s.env[:2] // no VAULTDB_PASSPHRASE: asked on the terminal
	p := s.startPTY(nil, "init", "--iterations", "1000")
	p.expect("New passphrase for ")
	p.typ("a\r")
	p.expect("Retype passphrase: ")
	p.typ("a\r")
	p.expect("Use this weak passphrase anyway? [y/N] ")
	p.typ("n\r")
	if code := p.wait(); code == 0 {
		t.Errorf("a refused weak passphrase created a store: %q", p.output())
	}
	if !strings.Contains(p.output(), "weak") || !strings.Contains(p.output(), "generate --words") {
		t.Errorf("the terminal shows %q", p.output())
	}
	if _, err := os.Stat(filepath.Join(s.dir, "config")); err == nil {
		t.Errorf("a store was created")
	}

	// From the environment: a warning on stderr, and the store.
	r := s.run("", []string{"VAULTDB_PASSPHRASE=a"}, "init", "--iterations", "1000")
	check(t, r, 0, "", "warning: the passphrase is weak")
	r = s.run("", []string{"VAULTDB_PASSPHRASE=a"}, "passwd", "--new-passphrase-file", writeTemp(t, "abc\n"))
	check(t, r, 0, "", "warning: the new passphrase is weak")
	r = s.run("", []string{"VAULTDB_PASSPHRASE=abc"}, "passwd", "--new-passphrase-file", writeTemp(t, "correct horse battery staple lamp\n"))
	check(t, r, 0, "", "")
	if strings.Contains(r.errOut, "weak") {
		t.Errorf("a strong passphrase was called weak: %q", r.errOut)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// The docs say which commands print a TOTP secret, and they are right
// (issue 19 point 8).
func TestTotpSecretDocs(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must(e2eSecret+"\n", "totp", "add", "github/totp")
	for _, args := range [][]string{{"get", "github/totp"}, {"export"}, {"totp", "uri", "github/totp"}} {
		if out := s.must("", args...); !strings.Contains(out, e2eSecret) {
			t.Errorf("%v does not print the secret: %q", args, out)
		}
	}
	help := s.must("", "totp", "uri", "--help")
	for _, cmd := range []string{`"get"`, `"export"`, `"edit"`} {
		if !strings.Contains(help, cmd) {
			t.Errorf("totp uri --help does not say that %s prints the secret too:\n%s", cmd, help)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readme), "only command that prints the secret") {
		t.Errorf("README.md still says that totp uri is the only command that prints the secret")
	}
}

// edit on a terminal: after "n" at the conflict question the editor can be
// opened again on your version; SIGTERM while the editor has the terminal
// in raw mode leaves it as it was (issue 19 point 11).
func TestEditTerminal(t *testing.T) {
	t.Parallel()
	requireShm(t)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("old", "set", "x")
	dir := t.TempDir()
	script := filepath.Join(dir, "editor")
	// First run: another client changes x, and the user writes "mine".
	// (The editor does not inherit $VAULTDB_PASSPHRASE: it sets its own.)
	// Second run: the user writes "mine again".
	body := fmt.Sprintf(`#!/bin/sh
if [ ! -e '%[1]s/ran' ]; then
  touch '%[1]s/ran'
  echo elsewhere | VAULTDB_PASSPHRASE=pw '%[2]s' --store '%[3]s' set x
  printf 'mine\n' > "$1"
else
  grep -q mine "$1" && printf 'mine again\n' > "$1"
fi
`, dir, bin, s.dir)
	os.WriteFile(script, []byte(body), 0o700)
	p := s.startPTY([]string{"EDITOR=sh " + script}, "edit", "x")
	p.expect("Replace it with your version? [y/N] ")
	p.typ("n\r")
	p.expect("Edit again? [y/N] ")
	p.typ("y\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d: %q", code, p.output())
	}
	check(t, s.run("", nil, "get", "x"), 0, "mine again\n", "")

	// SIGTERM while the editor holds the terminal raw.
	raw := filepath.Join(dir, "raw-editor")
	os.WriteFile(raw, []byte("#!/bin/sh\nstty raw -echo\necho editing\nexec sleep 30\n"), 0o700)
	p = s.startPTY([]string{"EDITOR=sh " + raw}, "edit", "x")
	p.expect("editing")
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(); code != 130 {
		t.Errorf("exit %d after SIGTERM: %q", code, p.output())
	}
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 || tio.Lflag&unix.ICANON == 0 {
		t.Errorf("the terminal was left raw (lflag %#x)", tio.Lflag)
	}
	check(t, s.run("", nil, "get", "x"), 0, "mine again\n", "")
}

// edit on a terminal: invalid JSON opens the editor again on what the
// user wrote, not on the stored value (issue 19 point 11).
func TestEditInvalidJSONAgain(t *testing.T) {
	t.Parallel()
	requireShm(t)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must(`{"a":1}`, "set", "--json", "x")
	dir := t.TempDir()
	script := filepath.Join(dir, "editor")
	body := fmt.Sprintf(`#!/bin/sh
if [ ! -e '%[1]s/ran' ]; then
  touch '%[1]s/ran'
  printf '{"a": 2,\n' > "$1"
else
  grep -q '"a": 2,' "$1" && printf '{"a": 2}\n' > "$1"
fi
`, dir)
	os.WriteFile(script, []byte(body), 0o700)
	p := s.startPTY([]string{"EDITOR=sh " + script}, "edit", "x")
	p.expect("Edit again? [y/N] ")
	p.typ("y\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d: %q", code, p.output())
	}
	check(t, s.run("", nil, "get", "--json", "x"), 0, "{\n  \"a\": 2\n}\n", "")
}
