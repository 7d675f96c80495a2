package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExportToFile: export -o FILE makes a file only its owner may read,
// also over an existing one, and a failed export leaves the old file
// (issue 12 point 13).
func TestExportToFile(t *testing.T) {
	t.Parallel()
	s := hostileStore(t)
	out := filepath.Join(t.TempDir(), "backup.json")
	if err := os.WriteFile(out, []byte("old backup\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(0o022)
	check(t, s.run("", nil, "export", "-o", out), 0, "", "")
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("export -o made mode %04o, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(out)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m["/bank"] != "secret-3" {
		t.Errorf("exported %q: %v", data, err)
	}
	// A directory is refused.
	check(t, s.run("", nil, "export", "-o", filepath.Dir(out)), 1, "", "not a regular file")
	// A damaged store: nothing is written, the old file stays.
	editItem(t, s.dir, "pw", "/mail/", []byte(`["","home","otp","work/"]`))
	check(t, s.run("", nil, "export", "-o", out), 1, "", "is damaged")
	if again, _ := os.ReadFile(out); string(again) != string(data) {
		t.Error("a failed export changed the file")
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("files left beside the export: %v", ents)
	}
}

// TestGitCredential: git gets the password from the helper, through its
// real credential protocol, without it in any argument (issue 12 point 13).
func TestGitCredential(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is not installed (CI must install it)")
		}
		t.Skip("git is not installed")
	}
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("tok-octocat", "set", "git/github.com/octocat")
	s.must(`{"username": "bot", "password": "tok-bot"}`, "set", "--json", "git/example.com:8443")
	s.must("a\nhost=evil.example", "set", "git/inject.example")
	fill := func(req string) result {
		helper := "!'" + bin + "' --store '" + s.dir + "' git-credential"
		c := exec.Command("git", "-c", "credential.helper=", "-c", "credential.helper="+helper, "credential", "fill")
		c.Env = append(append([]string(nil), s.env...), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
		c.Stdin = strings.NewReader(req)
		var out, errOut strings.Builder
		c.Stdout, c.Stderr = &out, &errOut
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errOut.String()}
	}
	r := fill("protocol=https\nhost=github.com\nusername=octocat\n\n")
	if r.code != 0 || !strings.Contains(r.out, "username=octocat\n") || !strings.Contains(r.out, "password=tok-octocat\n") {
		t.Errorf("git credential fill (user in URL): %+v", r)
	}
	r = fill("protocol=https\nhost=example.com:8443\n\n")
	if r.code != 0 || !strings.Contains(r.out, "username=bot\n") || !strings.Contains(r.out, "password=tok-bot\n") {
		t.Errorf("git credential fill (object entry): %+v", r)
	}
	// No entry: no answer, and git (without a terminal) gives up.
	r = fill("protocol=https\nhost=nowhere.example\n\n")
	if r.code == 0 || strings.Contains(r.out, "password=") {
		t.Errorf("git credential fill (no entry): %+v", r)
	}
	// An entry with a line end cannot add keys to the answer, and the
	// error does not quote it.
	r = fill("protocol=https\nhost=inject.example\n\n")
	if strings.Contains(r.out, "evil") || strings.Contains(r.errOut, "evil") || !strings.Contains(r.errOut, "line end") {
		t.Errorf("git credential fill (line end in the entry): %+v", r)
	}
	// store and erase change nothing.
	before := snapshot(t, s.dir)
	check(t, s.run("protocol=https\nhost=github.com\nusername=x\npassword=y\n\n", nil, "git-credential", "store"), 0, "", "")
	check(t, s.run("protocol=https\nhost=github.com\n\n", nil, "git-credential", "erase"), 0, "", "")
	sameSnapshot(t, before, snapshot(t, s.dir))
}

// TestConfusableNames: set warns about a new name that looks like an
// existing one or hides characters, and keeps it exactly as typed (issue
// 12 point 15).
func TestConfusableNames(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("v1", "set", "web/café")
	s.must("v2", "set", "web/paypal")
	s.must("v3", "set", "web/github")
	for _, c := range []struct{ name, warn string }{
		{"web/cafe\u0301", "looks like the existing entry /web/café (the same letters, composed differently"},
		{"web/p\u0430ypal", "looks like the existing entry /web/paypal (they differ in look-alike letters"},
		{"web/git\u200bhub", `the name /web/git\u200bhub holds invisible or direction-changing characters`},
		{"web/git\u200bhub2", "invisible"},
		{"web/evil\u202egpj.exe", `/web/evil\u202egpj.exe holds invisible or direction-changing`},
	} {
		r := s.run("new", nil, "set", c.name)
		check(t, r, 0, "", c.warn)
		if strings.ContainsFunc(r.errOut, isRawControl) {
			t.Errorf("warning holds a raw control character: %q", r.errOut)
		}
		check(t, s.run("", nil, "get", c.name), 0, "new\n", "")
	}
	check(t, s.run("", nil, "get", "web/café"), 0, "v1\n", "")
	check(t, s.run("", nil, "get", "web/paypal"), 0, "v2\n", "")
	// zero-width github also looks like github.
	if r := s.run("x", nil, "set", "web/git\u200bhub3"); strings.Contains(r.errOut, "/web/github") {
		t.Errorf("github3 reported as like github: %q", r.errOut)
	}
	if r := s.run("x", nil, "set", "web/g\u200bithub"); !strings.Contains(r.errOut, "looks like the existing entry /web/github (they differ in invisible characters)") {
		t.Errorf("zero-width github: %q", r.errOut)
	}
	// Ordinary new names and replacements get no warning.
	for _, p := range []string{"web/gitlab", "web/github"} {
		if r := s.run("x", nil, "set", "-f", p); r.code != 0 || r.errOut != "" {
			t.Errorf("set %s: %+v", p, r)
		}
	}
}

// TestPasswdSaysKeysStay: passwd --help says that the old passphrase and
// an old config still open the store after a passphrase change, and that
// --rotate-keys is the way out (issue 12 point 6).
func TestPasswdSaysKeysStay(t *testing.T) {
	t.Parallel()
	s := hostileStore(t)
	r := s.run("", nil, "passwd", "--help")
	for _, want := range []string{"old passphrase and a copy\nof the old config", "entries written after the change", "rotate the keys as well", "--rotate-keys"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("passwd --help lacks %q:\n%s", want, r.out)
		}
	}
}

// TestPasswdRotateKeys: after passwd --rotate-keys the store holds the same
// entries under new keys, with the same passphrase and shard count, and an
// old config with the old passphrase opens none of it.
func TestPasswdRotateKeys(t *testing.T) {
	t.Parallel()
	s := hostileStore(t)
	oldConfig, err := os.ReadFile(filepath.Join(s.dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, s.run("", nil, "passwd", "--rotate-keys", "--new-passphrase-file", "/dev/null"), 2, "", "keeps the passphrase")
	r := s.run("", nil, "passwd", "--rotate-keys")
	if r.code != 0 || !strings.Contains(r.errOut, "Rotated the keys") {
		t.Fatalf("passwd --rotate-keys: %+v", r)
	}
	check(t, s.run("", nil, "get", "mail/work/login"), 0, "secret-1\n", "")
	check(t, s.run("", nil, "get", "bank"), 0, "secret-3\n", "")
	if r := s.run("", nil, "reshard"); r.code != 0 || !strings.HasPrefix(r.out, "3 shards,") {
		t.Fatalf("reshard after the rotation: %+v", r)
	}
	if r := s.run("", nil, "fsck"); r.code != 0 || !strings.Contains(r.out, "4 entries, 3 directories: 0 problems found") {
		t.Fatalf("fsck after the rotation: %+v", r)
	}
	// The old config beside today's shards: the old keys decrypt nothing.
	if err := os.WriteFile(filepath.Join(s.dir, "config"), oldConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := s.run("", nil, "get", "bank"); r.code == 0 || strings.Contains(r.out, "secret-3") {
		t.Fatalf("the old config still opens the store: %+v", r)
	}
}
