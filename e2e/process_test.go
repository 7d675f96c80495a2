package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestChildEnvironmentScrubbed: no child process inherits
// $VAULTDB_PASSPHRASE (issue 12 point 10). The editor of "edit" dumps its
// environment.
func TestChildEnvironmentScrubbed(t *testing.T) {
	t.Parallel()
	requireShm(t)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("old", "set", "x")
	envFile := filepath.Join(t.TempDir(), "env")
	script, log := editorScript(t, "env > '"+envFile+"'", "new")
	check(t, s.run("", []string{"EDITOR=sh " + script, "MARKER_VAR=kept"}, "edit", "x"), 0, "", "")
	checkGone(t, log)
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "VAULTDB_PASSPHRASE") || strings.Contains(string(data), "=pw\n") {
		t.Errorf("the editor's environment holds the passphrase:\n%s", data)
	}
	if !strings.Contains(string(data), "MARKER_VAR=kept") {
		t.Errorf("the editor's environment lost other variables:\n%s", data)
	}
	check(t, s.run("", nil, "get", "x"), 0, "new\n", "")
}

// TestNoCoreDumpNoPtrace: a running vaultdb has a core size limit of 0 and
// is not dumpable, so that neither a core file nor another process of the
// same user can read its memory (issue 12 point 11). A non-dumpable
// process's /proc files belong to root, so vaultdb runs as another user.
func TestNoCoreDumpNoPtrace(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run vaultdb as another user")
	}
	base, err := os.MkdirTemp("", "vaultdb-dump-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	nb := binaryIn(t, base)
	// The hidden clipboard helper reads a hash from stdin, closes stdin and
	// waits: a vaultdb process that has run its own code (Main secures the
	// process first) and stays up until the test kills it.
	c := exec.Command(nb, "__clear-clipboard", "--after", "10m")
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + base, "VAULTDB_PASSPHRASE=pw"}
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var pipe syscall.Stat_t
	if err := syscall.Fstat(int(stdin.Fd()), &pipe); err != nil {
		t.Fatal(err)
	}
	_, err = w.WriteString(strings.Repeat("00", 32) + "\n")
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.Stdin = stdin
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := c.Start(); err != nil {
		t.Skipf("cannot run as another user: %v", err)
	}
	defer func() {
		c.Process.Kill()
		c.Wait()
	}()
	proc := filepath.Join("/proc", strconv.Itoa(c.Process.Pid))
	// Wait until it has closed its stdin (its fd 0 is no longer the pipe;
	// the runtime may reuse the number). Its /proc files cannot tell by
	// themselves: between fork and exec the child has already changed
	// user, which makes it non-dumpable (fs.suid_dumpable 0), so they
	// belong to root there too, with the test's core limit; a loaded
	// machine once caught it there. The deadline only bounds a failure.
	ours := fmt.Sprintf("pipe:[%d]", pipe.Ino)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if l, err := os.Readlink(filepath.Join(proc, "fd", "0")); errors.Is(err, fs.ErrNotExist) || (err == nil && l != ours) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("vaultdb __clear-clipboard did not read and close its stdin within a minute")
		}
	}
	// An exited process (a zombie) has no fd either, and its /proc files
	// belong to root whatever it did.
	if _, running := processCPU(c.Process.Pid); !running {
		t.Fatal("vaultdb __clear-clipboard exited instead of waiting")
	}
	b, err := os.ReadFile(filepath.Join(proc, "limits"))
	if err != nil {
		t.Fatal(err)
	}
	limits := string(b)
	var core string
	for _, l := range strings.Split(limits, "\n") {
		if strings.HasPrefix(l, "Max core file size") {
			core = strings.Join(strings.Fields(l), " ")
		}
	}
	if core != "Max core file size 0 0 bytes" {
		t.Errorf("core limit: %q, want 0 0", core)
	}
	st, err := os.Stat(filepath.Join(proc, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("/proc/PID/environ of vaultdb belongs to uid %d: the process is dumpable (ptrace and /proc/PID/mem open to its user)", uid)
	}
}

// TestPassphraseFileModes: a passphrase file other users may read is
// refused before it is read; an endless one is bounded (issue 12 point 12).
func TestPassphraseFileModes(t *testing.T) {
	t.Parallel()
	pf := func(mode os.FileMode) func(t *testing.T, s *store) {
		return func(t *testing.T, s *store) {
			f := filepath.Join(t.TempDir(), "pass")
			if err := os.WriteFile(f, []byte("pw\n"), mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(f, mode)
			s.env = append(s.env[:len(s.env):len(s.env)], "PF="+f)
		}
	}
	var cases []hostileCase
	for _, m := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		cases = append(cases, hostileCase{name: "mode " + m.String(), setup: pf(m),
			args: []string{"get", "bank"}, code: 1,
			errSub: []string{fmt.Sprintf("may be read or changed by other users (mode %04o); nothing was read", m)}})
	}
	cases = append(cases,
		hostileCase{name: "mode 0600 works", setup: pf(0o600), args: []string{"get", "bank"}, code: 0},
		hostileCase{name: "mode 0400 works", setup: pf(0o400), args: []string{"get", "bank"}, code: 0},
		hostileCase{name: "passwd new passphrase file 0644", setup: pf(0o644), args: []string{"passwd", "--new-passphrase-file", "@PF"}, code: 1,
			errSub: []string{"may be read or changed by other users"}},
		hostileCase{name: "endless passphrase file", args: []string{"--passphrase-file", "/dev/zero", "get", "bank"}, code: 1,
			errSub: []string{"no line end in its first 64 KiB"}},
	)
	for i := range cases {
		c := &cases[i]
		if c.args[0] == "get" {
			c.args = append([]string{"--passphrase-file", "@PF"}, c.args...)
		}
	}
	runHostile(t, cases)
}
