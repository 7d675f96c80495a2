package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/internal/passgen"
	"github.com/vaultdb/vaultdb/internal/term"
)

// fakePrompter answers prompts from a queue and records the questions.
type fakePrompter struct {
	mu      sync.Mutex
	secrets []string
	answers []bool
	prompts []string
	noTTY   bool
}

func (p *fakePrompter) Secret(ctx context.Context, prompt string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, prompt)
	if p.noTTY {
		return nil, term.ErrNoTerminal
	}
	if len(p.secrets) == 0 {
		return nil, fmt.Errorf("test: unexpected secret prompt %q", prompt)
	}
	s := p.secrets[0]
	p.secrets = p.secrets[1:]
	return []byte(s), nil
}

func (p *fakePrompter) Confirm(ctx context.Context, prompt string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, prompt)
	if p.noTTY {
		return false, term.ErrNoTerminal
	}
	if len(p.answers) == 0 {
		return false, fmt.Errorf("test: unexpected confirmation %q", prompt)
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

// fakeClipboard is an in-memory clipboard.
type fakeClipboard struct {
	mu   sync.Mutex
	text string
}

func (c *fakeClipboard) Write(s string) error { c.mu.Lock(); c.text = s; c.mu.Unlock(); return nil }
func (c *fakeClipboard) Read() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text, nil
}
func (c *fakeClipboard) Clear() error { return c.Write("") }

type scheduled struct {
	sum [32]byte
	d   time.Duration
}

// env is a test environment: a temporary store directory and fake
// streams; tty says whether stdin, stdout and stderr play a terminal.
type env struct {
	t         *testing.T
	dir       string
	vars      map[string]string
	prompter  *fakePrompter
	clip      *fakeClipboard
	schedules []scheduled
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	return &env{
		t:   t,
		dir: dir,
		vars: map[string]string{envStore: dir, envPassphrase: "pw", "HOME": "/nonexistent",
			// No agent: tests that want one start it here.
			"XDG_RUNTIME_DIR": t.TempDir()},
		prompter: &fakePrompter{},
		clip:     &fakeClipboard{},
	}
}

type result struct {
	code        int
	out, errOut string
}

// run runs vaultdb args with stdin in; tty plays a terminal on all three
// streams, otherwise they are pipes.
func (e *env) run(tty bool, in string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{
		IO: &term.IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut,
			InTTY: tty, OutTTY: tty, ErrTTY: tty, Prompter: e.prompter},
		Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
		LookupEnv: func(k string) (string, bool) {
			v, ok := e.vars[k]
			return v, ok
		},
		Rand:      cryptoRand{},
		Clipboard: e.clip,
		ScheduleClipClear: func(sum [32]byte, d time.Duration) error {
			e.schedules = append(e.schedules, scheduled{sum, d})
			return nil
		},
	}
	code := Execute(context.Background(), f, args)
	return result{code, out.String(), errOut.String()}
}

// must runs a command in pipe mode and fails the test unless it succeeds.
func (e *env) must(in string, args ...string) string {
	e.t.Helper()
	r := e.run(false, in, args...)
	if r.code != 0 {
		e.t.Fatalf("vaultdb %v: exit %d, stderr %q", args, r.code, r.errOut)
	}
	return r.out
}

func (e *env) init() {
	e.t.Helper()
	e.must("", "init", "--iterations", "1000", "--shards", "2")
}

func expect(t *testing.T, r result, code int, out, errSub string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.errOut)
	}
	if out != "*" && r.out != out {
		t.Errorf("stdout %q, want %q", r.out, out)
	}
	if !strings.Contains(r.errOut, errSub) {
		t.Errorf("stderr %q does not contain %q", r.errOut, errSub)
	}
	if strings.Count(r.errOut, "\n") > 1 && code != 0 {
		t.Errorf("error is not one line: %q", r.errOut)
	}
}

func TestInitOnTerminalAsksTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	delete(e.vars, envPassphrase)
	e.prompter.secrets = []string{"s3cret velvet orbit", "s3cret velvet orbit"}
	r := e.run(true, "", "init", "--iterations", "1000")
	expect(t, r, 0, "", "Created a store")
	if len(e.prompter.prompts) != 2 {
		t.Errorf("prompts %q, want two", e.prompter.prompts)
	}
	// The store opens with that passphrase, and only with it.
	e.prompter.secrets = []string{"s3cret velvet orbit"}
	expect(t, e.run(true, "", "ls"), 0, "", "")
	e.prompter.secrets = []string{"wrong"}
	expect(t, e.run(true, "", "ls"), ExitWrongPassphrase, "", "incorrect passphrase")
	// init refuses an existing store before asking anything.
	e.prompter.prompts = nil
	expect(t, e.run(true, "", "init", "--iterations", "1000"), ExitStore, "", "already exists")
	if len(e.prompter.prompts) != 0 {
		t.Errorf("asked %q for an existing store", e.prompter.prompts)
	}
}

func TestInitMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	delete(e.vars, envPassphrase)
	e.prompter.secrets = []string{"one", "two"}
	expect(t, e.run(true, "", "init", "--iterations", "1000"), ExitError, "", "do not match")
	if _, err := os.Stat(filepath.Join(e.dir, "config")); err == nil {
		t.Error("a store was created")
	}
}

func TestNoTerminalNoPassphrase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	delete(e.vars, envPassphrase)
	e.prompter.noTTY = true
	expect(t, e.run(false, "", "ls"), ExitUsage, "", "--passphrase-file")
}

func TestPassphraseFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	delete(e.vars, envPassphrase)
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte("pw\nignored second line\n"), 0o600)
	e.must("v", "--passphrase-file", pf, "set", "x")
	if got := e.must("", "--passphrase-file", pf, "get", "x"); got != "v\n" {
		t.Errorf("get = %q", got)
	}
	os.WriteFile(pf, []byte("nope\n"), 0o600)
	expect(t, e.run(false, "", "--passphrase-file", pf, "get", "x"), ExitWrongPassphrase, "", "--passphrase-file")
}

func TestNoStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expect(t, e.run(false, "", "get", "x"), ExitStore, "", "vaultdb init")
	e.vars[envStore] = "dropbox:/vault"
	expect(t, e.run(false, "", "ls"), ExitUnauthorized, "", "vaultdb login dropbox")
}

func TestStoreLocation(t *testing.T) {
	t.Parallel()
	f := &Factory{LookupEnv: func(k string) (string, bool) {
		v := map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/xdg"}[k]
		return v, v != ""
	}}
	if loc, _ := f.storeLocation(); loc.String() != "/xdg/vaultdb" {
		t.Errorf("XDG: %q", loc)
	}
	f.LookupEnv = func(k string) (string, bool) { return map[string]string{"HOME": "/home/u"}[k], k == "HOME" }
	if loc, _ := f.storeLocation(); loc.String() != "/home/u/.local/share/vaultdb" {
		t.Errorf("HOME: %q", loc)
	}
	f.StoreFlag = "/flag"
	if loc, _ := f.storeLocation(); loc.String() != "/flag" {
		t.Errorf("flag: %q", loc)
	}
}

func TestSetGetPipe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("line one\nline two\n", "set", "mail/password")
	expect(t, e.run(false, "", "get", "mail/password"), 0, "line one\nline two\n", "")
	expect(t, e.run(false, "", "get", "-n", "/mail/password"), 0, "line one\nline two", "")
	expect(t, e.run(false, "", "get", "--json", "mail/password"), 0, "\"line one\\nline two\"\n", "")
	// Replacing in a pipe does not ask.
	e.must("new\n", "set", "mail/password")
	expect(t, e.run(false, "", "get", "mail/password"), 0, "new\n", "")
	// Empty stdin is refused; a lone newline stores an empty string.
	expect(t, e.run(false, "", "set", "empty"), 2, "", "stdin was empty, so nothing was stored")
	expect(t, e.run(false, "", "get", "empty"), 3, "", "no such entry")
	e.must("\n", "set", "empty")
	expect(t, e.run(false, "", "get", "empty"), 0, "\n", "")
}

func TestSetOnTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.prompter.secrets = []string{"hunter2", "hunter2"}
	expect(t, e.run(true, "ignored stdin", "set", "github/password"), 0, "", "")
	expect(t, e.run(false, "", "get", "github/password"), 0, "hunter2\n", "")
	// Mismatch: nothing changes.
	e.prompter.answers = []bool{true}
	e.prompter.secrets = []string{"a", "b"}
	expect(t, e.run(true, "", "set", "github/password"), ExitError, "", "do not match")
	// Replacing asks; no keeps the old value.
	e.prompter.answers = []bool{false}
	expect(t, e.run(true, "", "set", "github/password"), ExitError, "", "not confirmed")
	expect(t, e.run(false, "", "get", "github/password"), 0, "hunter2\n", "")
	// --force does not ask.
	e.prompter.secrets = []string{"x", "x"}
	expect(t, e.run(true, "", "set", "-f", "github/password"), 0, "", "")
	expect(t, e.run(false, "", "get", "github/password"), 0, "x\n", "")
}

func TestSetJSONAndField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must(`{"user": "me", "host": "db", "port": 5432}`, "set", "--json", "servers/db")
	e.must("db2\n", "set", "servers/db", "--field", "host")
	e.must("true", "set", "servers/db", "--field", "tls", "--json")
	expect(t, e.run(false, "", "get", "servers/db"), 0,
		"{\n  \"user\": \"me\",\n  \"host\": \"db2\",\n  \"port\": 5432,\n  \"tls\": true\n}\n", "")
	expect(t, e.run(false, "", "get", "servers/db", "--field", "host"), 0, "db2\n", "")
	expect(t, e.run(false, "", "get", "servers/db", "--field", "port"), 0, "5432\n", "")
	expect(t, e.run(false, "", "get", "servers/db", "--field", "nope"), ExitNotFound, "", "no field")
	// --field on a new entry makes an object.
	e.must("v", "set", "new", "--field", "k")
	expect(t, e.run(false, "", "get", "new"), 0, "{\n  \"k\": \"v\"\n}\n", "")
	// --field on a string is an error, and nothing changes.
	e.must("plain", "set", "s")
	expect(t, e.run(false, "x", "set", "s", "--field", "k"), ExitError, "", "not an object")
	expect(t, e.run(false, "", "get", "s", "--field", "k"), ExitError, "", "not an object")
	// Invalid JSON: no secret in the message.
	r := e.run(false, "{secretvalue", "set", "--json", "bad")
	expect(t, r, ExitError, "", "not valid JSON")
	if strings.Contains(r.errOut, "secretvalue") || strings.Contains(r.errOut, "'s'") {
		t.Errorf("error leaks the value: %q", r.errOut)
	}
	expect(t, e.run(false, "null", "set", "--json", "bad"), ExitError, "", "null")
	expect(t, e.run(false, "\xff\xfe", "set", "bin"), ExitError, "", "not UTF-8")
}

func TestSetDirectoryAndInvalidPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	expect(t, e.run(false, "v", "set", "github/"), ExitUsage, "", "is a directory")
	expect(t, e.run(false, "v", "set", "a//b"), ExitUsage, "", "invalid path")
	expect(t, e.run(false, "v", "set", "a/../b"), ExitUsage, "", "invalid path")
	expect(t, e.run(false, "", "get", "a//b"), ExitUsage, "", "invalid path")
	expect(t, e.run(false, "", "get"), ExitUsage, "", "accepts 1 arg")
	expect(t, e.run(false, "", "get", "--nope", "x"), ExitUsage, "", "unknown flag")
	expect(t, e.run(false, "", "frobnicate"), ExitUsage, "", "unknown command")
}

func TestSetGenerate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	r := e.run(false, "", "set", "--generate", "a")
	pw := strings.TrimSuffix(r.out, "\n")
	if r.code != 0 || len(pw) != defaultLength {
		t.Fatalf("set --generate: %+v", r)
	}
	expect(t, e.run(false, "", "get", "a"), 0, pw+"\n", "")
	r = e.run(false, "", "set", "--generate=40", "--clip", "b")
	expect(t, r, 0, "", "Copied")
	if len(e.clip.text) != 40 || len(e.schedules) != 1 || e.schedules[0].d != defaultClipTimeout {
		t.Errorf("clipboard %q, schedules %v", e.clip.text, e.schedules)
	}
	expect(t, e.run(false, "", "get", "b"), 0, e.clip.text+"\n", "")
	expect(t, e.run(false, "", "set", "--generate", "--json", "c"), ExitUsage, "", "cannot be used together")
	expect(t, e.run(false, "", "set", "--clip", "c"), ExitUsage, "", "--generate")
}

func TestGetClip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("s3cret\n", "set", "github/password")
	r := e.run(false, "", "get", "-c", "--clip-timeout", "2s", "github/password")
	expect(t, r, 0, "", "cleared in 2s")
	if strings.Contains(r.errOut, "s3cret") {
		t.Error("secret on stderr")
	}
	if e.clip.text != "s3cret" {
		t.Errorf("clipboard %q", e.clip.text)
	}
	if len(e.schedules) != 1 || e.schedules[0].sum != sha256.Sum256([]byte("s3cret")) || e.schedules[0].d != 2*time.Second {
		t.Errorf("schedules %+v", e.schedules)
	}
	expect(t, e.run(false, "", "get", "--clip-timeout", "2s", "github/password"), ExitUsage, "", "needs --clip")
}

func TestClipClearHelper(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, now string
		cleared   bool
	}{
		{"unchanged", "s3cret", true},
		{"changed", "something else", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := sha256.Sum256([]byte("s3cret"))
			clip := &fakeClipboard{text: "s3cret"}
			o := &clipClearOptions{
				Factory: &Factory{IO: &term.IOStreams{In: strings.NewReader(fmt.Sprintf("%x\n", sum))}, Clipboard: clip},
				After:   time.Second,
				Sleep: func(_ context.Context, d time.Duration) error {
					clip.Write(tc.now) // the user may copy something meanwhile
					return nil
				},
			}
			if err := runClipClear(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			got, _ := clip.Read()
			if tc.cleared && got != "" || !tc.cleared && got != tc.now {
				t.Errorf("clipboard %q after clearing", got)
			}
		})
	}
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("v", "set", "github/password")
	expect(t, e.run(false, "", "get", "github/pasword"), ExitNotFound, "", "no such entry")
	expect(t, e.run(false, "", "get", "github"), ExitNotFound, "", "is a directory")
	expect(t, e.run(false, "", "get", "github/"), ExitUsage, "", "is a directory")
}

func TestRm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("v", "set", "a/one")
	e.must("v", "set", "a/two")
	e.must("v", "set", "a/sub/three")
	e.must("v", "set", "b")
	// A pipe never prompts and refuses without --force.
	expect(t, e.run(false, "", "rm", "b"), ExitUsage, "", "--force")
	if len(e.prompter.prompts) != 0 {
		t.Errorf("prompted in a pipe: %q", e.prompter.prompts)
	}
	// A terminal asks; "no" keeps the entry.
	e.prompter.answers = []bool{false}
	expect(t, e.run(true, "", "rm", "b"), ExitError, "", "not confirmed")
	e.must("", "get", "b")
	e.prompter.answers = []bool{true}
	expect(t, e.run(true, "", "rm", "b"), 0, "", "Removed /b")
	expect(t, e.run(false, "", "get", "b"), ExitNotFound, "", "")
	expect(t, e.run(false, "", "rm", "-f", "b"), ExitNotFound, "", "no such entry")
	expect(t, e.run(false, "", "rm", "-f", "a"), ExitUsage, "", "rm -r")
	expect(t, e.run(false, "", "rm", "-f", "a/"), ExitUsage, "", "rm -r")
	e.must("", "rm", "-f", "a/one")
	if got := e.must("", "ls", "-r"); got != "/a/sub/three\n/a/two\n" {
		t.Errorf("ls -r = %q", got)
	}
	e.prompter.answers = []bool{true}
	expect(t, e.run(true, "", "rm", "-r", "a"), 0, "", "2 entries")
	if got := e.must("", "ls", "-r"); got != "" {
		t.Errorf("ls -r = %q", got)
	}
	expect(t, e.run(false, "", "rm", "-rf", "a"), ExitNotFound, "", "no such")
}

func TestLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	for _, p := range []string{"github/password", "github/user", "mail/work/password", "top"} {
		e.must("v", "set", p)
	}
	expect(t, e.run(false, "", "ls"), 0, "github/\nmail/\ntop\n", "")
	expect(t, e.run(false, "", "ls", "github"), 0, "password\nuser\n", "")
	expect(t, e.run(false, "", "ls", "/github/"), 0, "password\nuser\n", "")
	expect(t, e.run(false, "", "ls", "-r"), 0, "/github/password\n/github/user\n/mail/work/password\n/top\n", "")
	expect(t, e.run(false, "", "ls", "-r", "mail"), 0, "/mail/work/password\n", "")
	expect(t, e.run(true, "", "ls", "-r"), 0, `/
├── github/
│   ├── password
│   └── user
├── mail/
│   └── work/
│       └── password
└── top
`, "")
	expect(t, e.run(false, "", "ls", "nope"), ExitNotFound, "", "no such directory")
	expect(t, e.run(false, "", "ls", "top"), 0, "/top\n", "")
}

func TestMv(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("pw", "set", "github/password")
	e.must("me", "set", "github/user")
	e.must("x", "set", "mail/password")
	e.must("other", "set", "taken")

	e.must("", "mv", "github/password", "github/old")
	expect(t, e.run(false, "", "get", "github/old"), 0, "pw\n", "")
	expect(t, e.run(false, "", "get", "github/password"), ExitNotFound, "", "")
	// Refuses to replace without --force; nothing changes.
	expect(t, e.run(false, "", "mv", "github/old", "taken"), ExitError, "", "already exists")
	e.must("", "get", "github/old")
	// A whole directory, renamed.
	e.must("", "mv", "github", "gh")
	expect(t, e.run(false, "", "ls", "-r"), 0, "/gh/old\n/gh/user\n/mail/password\n/taken\n", "")
	// Into an existing directory.
	e.must("", "mv", "gh/", "mail")
	expect(t, e.run(false, "", "ls", "-r"), 0, "/mail/gh/old\n/mail/gh/user\n/mail/password\n/taken\n", "")
	e.must("", "mv", "taken", "mail/")
	expect(t, e.run(false, "", "get", "mail/taken"), 0, "other\n", "")
	expect(t, e.run(false, "", "mv", "mail", "mail/sub"), ExitUsage, "", "into itself")
	expect(t, e.run(false, "", "mv", "nothing", "x"), ExitNotFound, "", "no such")
}

func TestPasswd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("v", "set", "x")
	e.prompter.secrets = []string{"new passphrase of five words", "new passphrase of five words"}
	expect(t, e.run(true, "", "passwd"), 0, "", "Changed the passphrase")
	expect(t, e.run(false, "", "get", "x"), ExitWrongPassphrase, "", "incorrect passphrase")
	e.vars[envPassphrase] = "new passphrase of five words"
	expect(t, e.run(false, "", "get", "x"), 0, "v\n", "")
	e.prompter.noTTY = true
	expect(t, e.run(false, "", "passwd"), ExitUsage, "", "--new-passphrase-file")
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run(false, "", "generate")
	if r.code != 0 || len(r.out) != defaultLength+1 {
		t.Fatalf("generate: %+v", r)
	}
	r = e.run(false, "", "generate", "64", "--no-symbols")
	if strings.Trim(strings.TrimSpace(r.out), passgen.Alnum) != "" || len(r.out) != 65 {
		t.Errorf("generate --no-symbols: %q", r.out)
	}
	r = e.run(false, "", "generate", "--words", "6")
	if n := len(strings.Split(strings.TrimSpace(r.out), "-")); n != 6 {
		t.Errorf("generate --words 6: %q", r.out)
	}
	expect(t, e.run(false, "", "generate", "0"), ExitUsage, "", "length")
	expect(t, e.run(false, "", "generate", "x"), ExitUsage, "", "length")
	expect(t, e.run(false, "", "generate", "--words", "0"), ExitUsage, "", "--words")
}

func TestTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("s3cret", "set", "x")
	r := e.run(false, "", "--trace", "get", "x")
	expect(t, r, 0, "s3cret\n", "trace: summary:")
	if !strings.Contains(r.errOut, "read  config") || strings.Contains(r.errOut, "s3cret") {
		t.Errorf("trace output: %q", r.errOut)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{usageErrorf("x"), 2},
		{fmt.Errorf("wrapped: %w", notFoundf("x")), 3},
		{context.Canceled, 130},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

// Issue 14 point 4: a scheme is case-insensitive, and an unknown scheme:
// prefix is an error, never a local directory named after it.
func TestStoreSchemes(t *testing.T) {
	e := newEnv(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	e.vars[envStore] = "Dropbox:/vault"
	expect(t, e.run(false, "", "init", "--iterations", "1000"), ExitUnauthorized, "", "vaultdb login dropbox")
	e.vars[envStore] = "DROPBOX:/vault"
	expect(t, e.run(false, "", "ls"), ExitUnauthorized, "", "vaultdb login dropbox")
	e.vars[envStore] = "webdav:/vault"
	expect(t, e.run(false, "", "init", "--iterations", "1000"), ExitUsage, "", `unknown kind of store "webdav:"`)
	e.vars[envStore] = "s3://bucket/vault"
	expect(t, e.run(false, "", "init", "--iterations", "1000"), ExitUsage, "", `unknown kind of store "s3:"`)
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("a local directory was created for a scheme: %v", ents)
	}
	// A directory whose name has a colon is still reachable as a path.
	e.vars[envStore] = "./webdav:/vault"
	expect(t, e.run(false, "", "init", "--iterations", "1000"), 0, "", "")
	e.vars[envStore] = "dir:" + filepath.Join(cwd, "webdav:", "vault")
	expect(t, e.run(false, "", "ls"), 0, "", "")
}

// Issue 17 point 4: a repeated key in a JSON object means what JSON.parse
// (and the config parser, and the reference) make of it: the last value.
func TestRepeatedKeyLastWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must(`{"a":1,"b":0,"a":2}`, "set", "--json", "x")
	expect(t, e.run(false, "", "get", "x", "--field", "a"), 0, "2\n", "")
	e.must("3", "set", "x", "--field", "b")
	expect(t, e.run(false, "", "get", "x", "--field", "a"), 0, "2\n", "")
	expect(t, e.run(false, "", "get", "x", "--field", "b"), 0, "3\n", "")
}
