// Package e2e runs the vaultdb binary as a subprocess against temporary
// stores, as a user's shell or script would.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/vault/format"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vaultdb-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "vaultdb")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vaultdb:", err)
		os.Exit(1)
	}
	code := m.Run()
	rstest.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// store is a temporary store directory and the environment to use it.
type store struct {
	t   *testing.T
	dir string
	env []string
	rt  string
}

// runtime is the store's XDG_RUNTIME_DIR, where no agent runs.
func (s *store) runtime() string {
	if s.rt == "" {
		return "/nonexistent"
	}
	return s.rt
}

func newStore(t *testing.T) *store {
	t.Helper()
	home := t.TempDir()
	return &store{t: t, dir: filepath.Join(t.TempDir(), "store"), rt: t.TempDir(),
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "VAULTDB_PASSPHRASE=pw"}}
}

type result struct {
	code        int
	out, errOut string
}

// run runs vaultdb --store DIR args with stdin, in its own session so that
// it has no controlling terminal: stdin, stdout and stderr are pipes.
func (s *store) run(stdin string, extraEnv []string, args ...string) result {
	s.t.Helper()
	c := exec.Command(bin, append([]string{"--store", s.dir}, args...)...)
	// An XDG_RUNTIME_DIR of its own: no agent answers, unless the test
	// starts one and names its directory in extraEnv (later values win).
	c.Env = append(append([]string{"XDG_RUNTIME_DIR=" + s.runtime()}, s.env...), extraEnv...)
	c.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("running vaultdb: %v", err)
	}
	return result{code, out.String(), errOut.String()}
}

func (s *store) must(stdin string, args ...string) string {
	s.t.Helper()
	r := s.run(stdin, nil, args...)
	if r.code != 0 {
		s.t.Fatalf("vaultdb %q: exit %d: %s", args, r.code, r.errOut)
	}
	return r.out
}

func check(t *testing.T, r result, code int, out, errSub string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d; stderr %q", r.code, code, r.errOut)
	}
	if out != "*" && r.out != out {
		t.Errorf("stdout %q, want %q", r.out, out)
	}
	if !strings.Contains(r.errOut, errSub) {
		t.Errorf("stderr %q lacks %q", r.errOut, errSub)
	}
	if code != 0 && (strings.Count(r.errOut, "\n") != 1 || strings.Contains(r.errOut, "goroutine")) {
		t.Errorf("error is not one line: %q", r.errOut)
	}
}

func TestWorkflow(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "3")
	check(t, s.run("", nil, "init", "--iterations", "1000"), 5, "", "already exists")

	// set from stdin (passphrase from the environment), multi-line.
	s.must("correct horse\n", "set", "github/password")
	s.must("line 1\nline 2\n", "set", "/mail/work/password")
	s.must(`{"user":"octocat","host":"db.example"}`, "set", "--json", "servers/db")
	s.must("db2.example\n", "set", "servers/db", "--field", "host")

	// set with --passphrase-file and no passphrase in the environment.
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte("pw\n"), 0o600)
	noEnv := &store{t: t, dir: s.dir, env: s.env[:2]}
	noEnv.must("octocat", "--passphrase-file", pf, "set", "github/user")

	check(t, s.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
	check(t, s.run("", nil, "get", "-n", "github/password"), 0, "correct horse", "")
	check(t, s.run("", nil, "get", "mail/work/password"), 0, "line 1\nline 2\n", "")
	check(t, s.run("", nil, "get", "servers/db", "--field", "host"), 0, "db2.example\n", "")
	check(t, s.run("", nil, "get", "servers/db"), 0, "{\n  \"user\": \"octocat\",\n  \"host\": \"db2.example\"\n}\n", "")
	check(t, noEnv.run("", nil, "--passphrase-file", pf, "get", "github/user"), 0, "octocat\n", "")

	// No passphrase source and no terminal: an error, not a hang.
	check(t, noEnv.run("", nil, "get", "github/user"), 2, "", "--passphrase-file")

	check(t, s.run("", nil, "ls"), 0, "github/\nmail/\nservers/\n", "")
	check(t, s.run("", nil, "ls", "github"), 0, "password\nuser\n", "")
	check(t, s.run("", nil, "ls", "-r"), 0,
		"/github/password\n/github/user\n/mail/work/password\n/servers/db\n", "")

	// mv of an entry and of a directory.
	s.must("", "mv", "github/user", "github/login")
	s.must("", "mv", "mail", "email")
	check(t, s.run("", nil, "ls", "-r"), 0,
		"/email/work/password\n/github/login\n/github/password\n/servers/db\n", "")
	check(t, s.run("", nil, "get", "email/work/password"), 0, "line 1\nline 2\n", "")

	// rm refuses in a pipe without --force; rm and rm -r with it.
	check(t, s.run("", nil, "rm", "github/login"), 2, "", "--force")
	s.must("", "rm", "-f", "github/login")
	s.must("", "rm", "-r", "-f", "email")
	check(t, s.run("", nil, "ls", "-r"), 0, "/github/password\n/servers/db\n", "")

	// Errors and their exit codes.
	check(t, s.run("", nil, "get", "github/nope"), 3, "", "no such entry")
	check(t, s.run("", []string{"VAULTDB_PASSPHRASE=wrong"}, "get", "github/password"), 4, "", "incorrect passphrase")
	check(t, s.run("", nil, "get", "a//b"), 2, "", "invalid path")
	check(t, s.run("x", nil, "set", "github/"), 2, "", "is a directory")
	check(t, s.run("", nil, "get"), 2, "", "")
	check(t, s.run("", nil, "--store", filepath.Join(t.TempDir(), "none"), "ls"), 5, "", "vaultdb init")

	// passwd, then only the new passphrase works.
	np := filepath.Join(t.TempDir(), "new")
	os.WriteFile(np, []byte("new passphrase\n"), 0o600)
	s.must("", "passwd", "--new-passphrase-file", np)
	check(t, s.run("", nil, "get", "github/password"), 4, "", "incorrect passphrase")
	check(t, s.run("", []string{"VAULTDB_PASSPHRASE=new passphrase"}, "get", "github/password"), 0, "correct horse\n", "")
}

func TestTrace(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000")
	s.must("s3cret", "set", "x")
	r := s.run("", nil, "--trace", "get", "x")
	check(t, r, 0, "s3cret\n", "trace: summary:")
	if strings.Contains(r.errOut, "s3cret") || !strings.Contains(r.errOut, "rounds") {
		t.Errorf("trace: %q", r.errOut)
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	out := s.must("", "generate")
	if len(out) != 26 {
		t.Errorf("generate: %q", out)
	}
	if a, b := s.must("", "generate"), s.must("", "generate"); a == b {
		t.Errorf("two passwords are equal: %q", a)
	}
	if w := strings.Split(strings.TrimSpace(s.must("", "generate", "--words", "5")), "-"); len(w) != 5 {
		t.Errorf("words: %q", w)
	}
}

// TestReferenceStores reads the reference stores (written by the reference
// implementation) through the command line.
func TestReferenceStores(t *testing.T) {
	t.Parallel()
	dirs, _ := filepath.Glob("../testdata/reference-v1-*")
	if len(dirs) == 0 {
		t.Fatal("no reference stores in ../testdata")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var exp struct {
				Passphrase string                     `json:"passphrase"`
				Documents  map[string]json.RawMessage `json:"documents"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &exp); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			s.env[2] = "VAULTDB_PASSPHRASE=" + exp.Passphrase
			copyDir(t, filepath.Join(dir, "store"), s.dir)

			var paths []string
			for p := range exp.Documents {
				paths = append(paths, p)
			}
			format.Sort(paths)
			check(t, s.run("", nil, "ls", "-r"), 0, strings.Join(paths, "\n")+"\n", "")

			for p, want := range exp.Documents {
				out := s.must("", "get", "--json", p)
				var got, w any
				json.Unmarshal([]byte(out), &got)
				json.Unmarshal(want, &w)
				if !reflect.DeepEqual(got, w) {
					t.Errorf("get --json %s = %s, want %s", p, out, want)
				}
				var str string
				if json.Unmarshal(want, &str) == nil {
					if out := s.must("", "get", p); out != str+"\n" {
						t.Errorf("get %s = %q, want %q", p, out, str+"\n")
					}
				}
			}
			check(t, s.run("", nil, "get", "github/totp", "--field", "secret"), 0, "JBSWY3DPEHPK3PXP\n", "")
			check(t, s.run("", []string{"VAULTDB_PASSPHRASE=wrong"}, "ls"), 4, "", "incorrect passphrase")
		})
	}
}

// binaryIn copies the vaultdb binary into dir, mode 0755, for another
// user to run: the build's own directory is not theirs to enter.
func binaryIn(t *testing.T, dir string) string {
	t.Helper()
	nb := filepath.Join(dir, "vaultdb")
	// Copied by cp, not written from here: an executable this process
	// holds open for writing is ETXTBSY for execve while another test's
	// fork still holds that descriptor (until the child's exec closes it).
	if out, err := exec.Command("cp", bin, nb).CombinedOutput(); err != nil {
		t.Fatalf("copying the binary: %v: %s", err, out)
	}
	return nb
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
