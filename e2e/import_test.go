package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var summaryRE = regexp.MustCompile(`trace: summary: (\d+) requests \((\d+) reads, (\d+) writes\)`)

// Export, import into a fresh store, export again: the same JSON. The
// import of 2,000 entries is one task: it reads the config and each shard
// once, and writes each shard at most once per level.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	const n, shards = 2000, 3
	a := newStore(t)
	a.must("", "init", "--iterations", "1000", "--shards", strconv.Itoa(shards))
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"dir%d/entry%d": {"user": "u%d", "password": "p%d"},`, i%10, i, i, i)
	}
	b.WriteString(`"top": "line one\nline two"}`)
	r := a.run(b.String(), nil, "--trace", "import")
	check(t, r, 0, "", fmt.Sprintf("%d added", n+1))
	m := summaryRE.FindStringSubmatch(r.errOut)
	if m == nil {
		t.Fatalf("no trace summary")
	}
	// The reads are exact, and so is the plan: every call of the batch
	// plans before anything is written (however late its goroutine
	// starts), so each shard is written at most once per level of the
	// new entries (the root's listing, the directories', the entries).
	reads, _ := strconv.Atoi(m[2])
	writes, _ := strconv.Atoi(m[3])
	if reads != 1+shards || writes > 3*shards {
		t.Errorf("import of %d entries on %d shards: %s requests (%d reads, %d writes)", n, shards, m[1], reads, writes)
	}
	exp := a.must("", "export")

	c := newStore(t)
	c.must("", "init", "--iterations", "1000", "--shards", "2")
	check(t, c.run(exp, nil, "import", "-"), 0, "", fmt.Sprintf("%d added, 0 replaced, 0 skipped", n+1))
	if again := c.must("", "export"); again != exp {
		t.Errorf("the second export differs from the first")
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("v", "set", "github/password")
	s.must("v", "set", "github/token")
	s.must("v", "set", "gitlab/x")
	check(t, s.run("", nil, "__complete", "get", "git"), 0, "github/\ngitlab/\n:6\n", "")
	check(t, s.run("", nil, "__complete", "rm", "github/p"), 0, "github/password\n:4\n", "")
	// Without a non-interactive passphrase: nothing, at once, no prompt.
	s.env = s.env[:len(s.env)-1] // drops VAULTDB_PASSPHRASE
	start := time.Now()
	check(t, s.run("", nil, "__complete", "get", "git"), 0, ":4\n", "")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("completion without a passphrase took %v", d)
	}
}

// editorScript writes a fake editor: it logs the file's path and
// filesystem type, runs extra (shell code), then writes content.
func editorScript(t *testing.T, extra, content string) (script, log string) {
	dir := t.TempDir()
	script, log = filepath.Join(dir, "editor"), filepath.Join(dir, "log")
	body := fmt.Sprintf("#!/bin/sh\n{ echo \"$1\"; stat -f -c %%T \"$1\"; } > '%s'\n%s\nprintf '%%s' '%s' > \"$1\"\n", log, extra, content)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func checkGone(t *testing.T, log string) {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the editor did not run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 || (lines[1] != "tmpfs" && lines[1] != "ramfs") {
		t.Errorf("editor log %q: not on a memory filesystem", lines)
	}
	if _, err := os.Stat(filepath.Dir(lines[0])); !os.IsNotExist(err) {
		t.Errorf("%s is still there", filepath.Dir(lines[0]))
	}
}

func requireShm(t *testing.T) {
	if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
		t.Skip("no /dev/shm")
	}
}

func TestEdit(t *testing.T) {
	t.Parallel()
	requireShm(t)
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("old", "set", "x")
	script, log := editorScript(t, "", "new")
	check(t, s.run("", []string{"EDITOR=sh " + script}, "edit", "x"), 0, "", "")
	checkGone(t, log)
	check(t, s.run("", nil, "get", "x"), 0, "new\n", "")

	// Changed elsewhere while editing: not overwritten.
	// The editor does not inherit $VAULTDB_PASSPHRASE: give it its own.
	change := fmt.Sprintf("echo elsewhere | VAULTDB_PASSPHRASE=pw '%s' --store '%s' set x", bin, s.dir)
	script, log = editorScript(t, change, "mine")
	r := s.run("", []string{"EDITOR=sh " + script}, "edit", "x")
	check(t, r, 1, "", "changed in the store while you were editing")
	checkGone(t, log)
	check(t, s.run("", nil, "get", "x"), 0, "elsewhere\n", "")
}

// Interrupted while the editor runs, edit stops the editor, saves nothing
// and removes the file.
func TestEditInterrupted(t *testing.T) {
	t.Parallel()
	requireShm(t)
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
	c.Process.Signal(syscall.SIGINT)
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("exit: %v (stderr %q)", err, errOut.String())
	}
	checkGone(t, log)
	check(t, s.run("", nil, "get", "x"), 0, "old\n", "")
}

// A pass store made with a throwaway GPG key imports with its fields.
func TestImportPassStore(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is not installed (CI must install gnupg)")
		}
		t.Skip("gpg is not installed")
	}
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	gpg := func(stdin string, args ...string) {
		t.Helper()
		c := exec.Command("gpg", append([]string{"--batch", "--quiet", "--homedir", home}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
	}
	const id = "e2e@example.invalid"
	gpg("", "--passphrase", "", "--quick-gen-key", id, "default", "default", "never")
	dir := filepath.Join(t.TempDir(), "store")
	os.MkdirAll(filepath.Join(dir, "web"), 0o700)
	os.WriteFile(filepath.Join(dir, ".gpg-id"), []byte(id+"\n"), 0o600)
	gpg("pw1\nusername: me\nurl: https://example.com\n", "--trust-model", "always", "--encrypt", "-r", id, "-o", filepath.Join(dir, "web", "site.gpg"))
	gpg("pw2\n", "--trust-model", "always", "--encrypt", "-r", id, "-o", filepath.Join(dir, "plain.gpg"))

	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	check(t, s.run("", []string{"GNUPGHOME=" + home}, "import", "--from", "pass", dir), 0, "", "2 added")
	check(t, s.run("", nil, "get", "web/site", "--field", "username"), 0, "me\n", "")
	check(t, s.run("", nil, "get", "web/site", "--field", "password"), 0, "pw1\n", "")
	check(t, s.run("", nil, "get", "plain"), 0, "pw2\n", "")
}
