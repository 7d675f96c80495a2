package e2e

import (
	"bytes"
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

const (
	markerValue = "MARKER-SECRET-3f9a7c"
	markerName  = "markerpathq7"
)

// TestSecrets runs a command sequence that handles a marker secret and a
// marker path, and after every command checks: store files 0600 and
// directories 0700; neither marker in any store file or in $TMPDIR; the
// secret in no stderr output (errors, trace); the path in no trace line.
func TestSecrets(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tmp := t.TempDir()
	s.env = append(s.env, "TMPDIR="+tmp)
	p := markerName + "/login"
	pf := filepath.Join(t.TempDir(), "new")
	os.WriteFile(pf, []byte("pw2\n"), 0o600)
	steps := []struct {
		stdin string
		env   []string
		args  []string
	}{
		{"", nil, []string{"init", "--iterations", "1000", "--shards", "2"}},
		{markerValue, nil, []string{"set", p}},
		{`{"user":"` + markerValue + `"}`, nil, []string{"set", "--json", markerName + "/obj"}},
		{"", nil, []string{"--trace", "get", p}},
		{"", nil, []string{"--trace", "ls", "-r"}},
		{"", nil, []string{"get", markerName + "/obj", "--field", "user"}},
		{"", nil, []string{"--trace", "mv", p, markerName + "/login2"}},
		{"", []string{"VAULTDB_PASSPHRASE=wrong"}, []string{"get", markerName + "/login2"}},
		{"", nil, []string{"get", markerName + "/nope"}},
		{"", nil, []string{"--trace", "fsck"}},
		{"", nil, []string{"passwd", "--new-passphrase-file", pf}},
		{"", []string{"VAULTDB_PASSPHRASE=pw2"}, []string{"--trace", "rm", "-f", markerName + "/login2"}},
		{"", []string{"VAULTDB_PASSPHRASE=pw2"}, []string{"--trace", "rm", "-r", "-f", markerName}},
	}
	for _, st := range steps {
		r := s.run(st.stdin, st.env, st.args...)
		what := strings.Join(st.args, " ")
		want := 0
		switch {
		case strings.Contains(strings.Join(st.env, " "), "wrong"):
			want = 4
		case strings.Contains(what, "nope"):
			want = 3
		}
		if r.code != want {
			t.Errorf("%s: exit %d, want %d: %s", what, r.code, want, r.errOut)
		}
		if strings.Contains(r.errOut, markerValue) {
			t.Errorf("%s: the secret is in stderr: %q", what, r.errOut)
		}
		for _, line := range strings.Split(r.errOut, "\n") {
			if strings.HasPrefix(line, "trace:") && strings.Contains(line, markerName) {
				t.Errorf("%s: a path is in the trace: %q", what, line)
			}
		}
		if st.args[0] == "passwd" || strings.Contains(what, "VAULTDB") {
			continue
		}
		checkTree(t, what, s.dir, true)
		checkTree(t, what, tmp, false)
	}
}

// checkTree checks file modes (if modes) and that no file holds a marker.
func checkTree(t *testing.T, what, dir string, modes bool) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.Contains(d.Name(), markerName) {
			t.Errorf("after %s: file name %s holds a path", what, path)
		}
		if modes {
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if info.Mode().Perm() != want {
				t.Errorf("after %s: %s has mode %v, want %v", what, path, info.Mode().Perm(), want)
			}
		}
		if d.Type().IsRegular() {
			data, _ := os.ReadFile(path)
			if bytes.Contains(data, []byte(markerValue)) || bytes.Contains(data, []byte(markerName)) {
				t.Errorf("after %s: %s holds a marker in plaintext", what, path)
			}
		}
		return nil
	})
}

// TestPassphraseNotVisible: with --passphrase-file the passphrase is in
// neither /proc/PID/cmdline nor /proc/PID/environ of a running vaultdb;
// with $VAULTDB_PASSPHRASE it is in the environment, as the user chose.
func TestPassphraseNotVisible(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc")
	}
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	const secret = "pw" // the store's passphrase
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte(secret+"\n"), 0o600)
	look := func(env []string, args ...string) (cmdline, environ string) {
		c := exec.Command(bin, append([]string{"--store", s.dir}, args...)...)
		c.Env = env
		stdin, _ := c.StdinPipe()
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// set blocks reading its value from stdin: look at it meanwhile.
		time.Sleep(100 * time.Millisecond)
		pid := c.Process.Pid
		cl, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		en, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		stdin.Write([]byte("v"))
		stdin.Close()
		if err := c.Wait(); err != nil {
			t.Fatalf("vaultdb %q: %v", args, err)
		}
		return string(cl), string(en)
	}
	base := s.env[:2] // PATH, HOME: no passphrase
	cl, en := look(base, "--passphrase-file", pf, "set", "x")
	if cl == "" || en == "" {
		t.Fatal("could not read /proc")
	}
	for _, f := range append(strings.Split(cl, "\x00"), strings.Split(en, "\x00")...) {
		if f == secret || strings.HasSuffix(f, "="+secret) {
			t.Errorf("passphrase visible in /proc: %q", f)
		}
	}
	_, en = look(s.env, "set", "y")
	if !strings.Contains(en, "VAULTDB_PASSPHRASE="+secret) {
		t.Errorf("environ %q lacks the variable the user set", en)
	}
}
