package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEditCleansUpOnSignals: a closed terminal (SIGHUP), Ctrl-\ (SIGQUIT),
// SIGTERM and Ctrl-C while the editor runs stop it, save nothing and
// remove the plaintext (issue 12 point 9).
func TestEditCleansUpOnSignals(t *testing.T) {
	requireShm(t)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := newStore(t)
			s.must("", "init", "--iterations", "1000")
			s.must("old", "set", "x")
			script, log := editorScript(t, "exec sleep 30", "never")
			c := exec.Command(bin, "--store", s.dir, "edit", "x")
			c.Env = append(append([]string(nil), s.env...), "EDITOR=sh "+script)
			var errOut bytes.Buffer
			c.Stderr = &errOut
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			c.WaitDelay = 10 * time.Second
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100; i++ {
				if data, _ := os.ReadFile(log); bytes.Count(data, []byte("\n")) >= 2 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			start := time.Now()
			c.Process.Signal(sig)
			err := c.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Errorf("exit: %v (stderr %q)", err, errOut.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("stopped %v after the signal", d)
			}
			checkGone(t, log)
			check(t, s.run("", nil, "get", "x"), 0, "old\n", "")
		})
	}
}

// TestEditSafeVimOptions: vim and neovim (also as "vi" when it is a link
// to vim) are started without swap, viminfo/shada, backup and undo files,
// as pass and gopass do; other editors get no extra options (issue 12
// point 9).
func TestEditSafeVimOptions(t *testing.T) {
	// Not parallel: the fake editors it writes are run by name, and a file
	// being written while another test forks can be "text file busy".
	requireShm(t)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("old", "set", "x")
	bin := t.TempDir()
	argLog := filepath.Join(t.TempDir(), "args")
	fake := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\nfor last; do :; done\nprintf 'new' > \"$last\"\n", argLog)
	for _, name := range []string{"vim", "nvim", "nano", "vim.basic"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fake), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// vi as a link to vim.basic, as Debian's alternatives make it.
	if err := os.Symlink(filepath.Join(bin, "vim.basic"), filepath.Join(bin, "vi")); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + bin + ":" + os.Getenv("PATH")
	for _, c := range []struct {
		editor string
		safe   bool
	}{{"vim", true}, {"nvim", true}, {"vi", true}, {filepath.Join(bin, "vim"), true}, {"vim -u NONE", true}, {"nano", false}} {
		os.Remove(argLog)
		check(t, s.run("", []string{path, "EDITOR=" + c.editor}, "edit", "x"), 0, "", "")
		data, err := os.ReadFile(argLog)
		if err != nil {
			t.Fatalf("%s did not run: %v", c.editor, err)
		}
		args := strings.Split(strings.TrimSpace(string(data)), "\n")
		got := strings.Join(args[:len(args)-1], " ")
		want := ""
		if c.safe {
			want = "-n -i NONE -c set nobackup nowritebackup noundofile noswapfile"
			if strings.Contains(c.editor, " ") {
				want = "-u NONE " + want
			}
		}
		if got != want {
			t.Errorf("EDITOR=%q got options %q, want %q", c.editor, got, want)
		}
		check(t, s.run("", nil, "get", "x"), 0, "new\n", "")
		s.must("old", "set", "-f", "x")
	}
}
