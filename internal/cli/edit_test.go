package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/internal/term"
)

// fakeEditor writes an editor script that records the file it was given
// (its path, filesystem type, and the modes of it and of its directory),
// copies what it saw, and writes newContent in its place (or leaves the
// file alone if newContent is "-"). It returns the script and the log.
func fakeEditor(t *testing.T, newContent string) (script, log, seen string) {
	t.Helper()
	dir := t.TempDir()
	script = filepath.Join(dir, "editor")
	log = filepath.Join(dir, "log")
	seen = filepath.Join(dir, "seen")
	write := `printf '%s' '` + strings.ReplaceAll(newContent, "'", `'\''`) + `' > "$1"`
	if newContent == "-" {
		write = ":"
	}
	body := `#!/bin/sh
{ echo "$1"; stat -f -c %T "$1"; stat -c %a "$(dirname "$1")"; stat -c %a "$1"; } > '` + log + `'
cat "$1" > '` + seen + `'
` + write + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, log, seen
}

// checkEditLog checks that the file was on a memory filesystem, private,
// and is gone.
func checkEditLog(t *testing.T, log string) {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the editor did not run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("editor log %q", lines)
	}
	file, fstype, dirMode, fileMode := lines[0], lines[1], lines[2], lines[3]
	if fstype != "tmpfs" && fstype != "ramfs" {
		t.Errorf("the temporary file was on %s", fstype)
	}
	if dirMode != "700" || fileMode != "600" {
		t.Errorf("modes: directory %s, file %s", dirMode, fileMode)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("%s still exists", file)
	}
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("%s still exists", filepath.Dir(file))
	}
}

func requireShm(t *testing.T) {
	t.Helper()
	if !term.MemoryFS("/dev/shm") {
		t.Skip("no memory filesystem at /dev/shm")
	}
}

func TestEditString(t *testing.T) {
	t.Parallel()
	requireShm(t)
	e := newEnv(t)
	e.init()
	e.must("old secret", "set", "mail/password")
	script, log, seen := fakeEditor(t, "new secret\n")
	e.vars["EDITOR"] = "sh " + script // sh reads it: never "text file busy" while other tests fork
	expect(t, e.run(false, "", "edit", "mail/password"), 0, "", "")
	checkEditLog(t, log)
	if got, _ := os.ReadFile(seen); string(got) != "old secret\n" {
		t.Errorf("the editor saw %q", got)
	}
	if got := e.must("", "get", "mail/password"); got != "new secret\n" {
		t.Errorf("saved %q", got)
	}
	// $VISUAL comes first; a new entry starts empty.
	script2, log2, _ := fakeEditor(t, "created")
	e.vars["VISUAL"] = script2
	expect(t, e.run(false, "", "edit", "new/entry"), 0, "", "")
	checkEditLog(t, log2)
	if got := e.must("", "get", "new/entry"); got != "created\n" {
		t.Errorf("saved %q", got)
	}
}

func TestEditJSONAndNoChange(t *testing.T) {
	t.Parallel()
	requireShm(t)
	e := newEnv(t)
	e.init()
	e.must(`{"user":"me","port":1}`, "set", "--json", "db")
	script, log, seen := fakeEditor(t, "-")
	e.vars["EDITOR"] = "sh " + script // sh reads it: never "text file busy" while other tests fork
	expect(t, e.run(false, "", "edit", "db"), 0, "", "No change")
	checkEditLog(t, log)
	if got, _ := os.ReadFile(seen); string(got) != "{\n  \"user\": \"me\",\n  \"port\": 1\n}\n" {
		t.Errorf("the editor saw %q", got)
	}
	script, _, _ = fakeEditor(t, `{"user": "you", "port": 2}`)
	e.vars["EDITOR"] = "sh " + script // sh reads it: never "text file busy" while other tests fork
	expect(t, e.run(false, "", "edit", "db"), 0, "", "")
	if got := e.must("", "get", "db", "--field", "user"); got != "you\n" {
		t.Errorf("user = %q", got)
	}
	// Invalid JSON is not saved, and not quoted.
	script, log, _ = fakeEditor(t, `{"user": "s3cret"`)
	e.vars["EDITOR"] = "sh " + script // sh reads it: never "text file busy" while other tests fork
	r := e.run(false, "", "edit", "db")
	expect(t, r, 1, "", "not valid JSON")
	checkEditLog(t, log)
	if strings.Contains(r.errOut, "s3cret") {
		t.Errorf("error quotes the content: %q", r.errOut)
	}
	// A failing editor saves nothing.
	e.vars["EDITOR"] = "false"
	expect(t, e.run(false, "", "edit", "db"), 1, "", "the editor (false) failed")
	if got := e.must("", "get", "db", "--field", "user"); got != "you\n" {
		t.Errorf("user = %q", got)
	}
}

func TestEditRefusesDiskTemp(t *testing.T) {
	// Not parallel: it swaps the package variable editTempDirs, which the
	// parallel edit tests read.
	e := newEnv(t)
	e.init()
	e.must("v", "set", "x")
	disk := t.TempDir()
	if term.MemoryFS(disk) {
		t.Skip("the test's temporary directory is on a memory filesystem")
	}
	saved := editTempDirs
	editTempDirs = func(func(string) string) []string { return []string{disk, filepath.Join(disk, "missing")} }
	defer func() { editTempDirs = saved }()
	script, log, _ := fakeEditor(t, "changed")
	e.vars["EDITOR"] = "sh " + script // sh reads it: never "text file busy" while other tests fork
	expect(t, e.run(false, "", "edit", "x"), ExitUsage, "", "--unsafe-tmp")
	if _, err := os.Stat(log); err == nil {
		t.Error("the editor ran")
	}
	// With --unsafe-tmp it uses $TMPDIR, and still cleans up.
	e.vars["TMPDIR"] = disk
	expect(t, e.run(false, "", "edit", "--unsafe-tmp", "x"), 0, "", "")
	if got := e.must("", "get", "x"); got != "changed\n" {
		t.Errorf("x = %q", got)
	}
	if ents, _ := os.ReadDir(disk); len(ents) != 0 {
		t.Errorf("left in %s: %v", disk, ents)
	}
}
