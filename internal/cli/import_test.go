package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// writeFile writes a temporary file and returns its name.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// expectLines is expect for a failure reported on several lines (an
// import's failures, its summary and its error).
func expectLines(t *testing.T, r result, code int, errSub string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.errOut)
	}
	if r.out != "" {
		t.Errorf("stdout %q", r.out)
	}
	if !strings.Contains(r.errOut, errSub) {
		t.Errorf("stderr %q does not contain %q", r.errOut, errSub)
	}
}

func decodeExport(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	return m
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	a.init()
	a.must("s3cret\n", "set", "github/password")
	a.must(`{"user":"me","port":5432,"tags":["a","b"]}`, "set", "--json", "servers/db")
	a.must("multi\nline\n", "set", "notes/a b/ünïcode")
	a.must("x", "set", "top")
	exp := a.must("", "export")
	want := map[string]any{
		"/github/password":   "s3cret",
		"/servers/db":        map[string]any{"user": "me", "port": 5432.0, "tags": []any{"a", "b"}},
		"/notes/a b/ünïcode": "multi\nline",
		"/top":               "x",
	}
	if got := decodeExport(t, exp); !reflect.DeepEqual(got, want) {
		t.Errorf("export = %v, want %v", got, want)
	}
	// Sorted by path, indented.
	if !strings.HasPrefix(exp, "{\n  \"/github/password\": \"s3cret\",\n") {
		t.Errorf("export starts %q", exp[:min(len(exp), 60)])
	}

	b := newEnv(t)
	b.init()
	r := b.run(false, exp, "import")
	expect(t, r, 0, "", "4 added, 0 replaced, 0 skipped (already there), 0 failed")
	if again := b.must("", "export"); again != exp {
		t.Errorf("export after import differs:\n%s\nwant\n%s", again, exp)
	}
	// A subdirectory only, and import below a prefix from a file.
	sub := a.must("", "export", "servers")
	if got := decodeExport(t, sub); len(got) != 1 || got["/servers/db"] == nil {
		t.Errorf("export servers = %v", got)
	}
	b.must("", "import", "--prefix", "old", writeFile(t, "in.json", sub))
	if got := b.must("", "get", "old/servers/db", "--field", "user"); got != "me\n" {
		t.Errorf("old/servers/db user = %q", got)
	}
	// An empty store exports {}.
	c := newEnv(t)
	c.init()
	if got := c.must("", "export"); got != "{}\n" {
		t.Errorf("empty export = %q", got)
	}
}

func TestExportRefusesTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("s3cret", "set", "x")
	expect(t, e.run(true, "", "export"), ExitUsage, "", "--force")
	r := e.run(true, "", "export", "--force")
	expect(t, r, 0, "{\n  \"/x\": \"s3cret\"\n}\n", "")
	expect(t, e.run(false, "", "export", "--format", "yaml"), ExitUsage, "", "only format is json")
}

func TestImportSkipOverwriteDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	e.must("old", "set", "a")
	e.must("same", "set", "b")
	in := `{"a": "new", "/b": "same", "c": {"k": 1}, "bad": null, "d/": "x"}`
	r := e.run(false, in, "import", "--dry-run")
	expectLines(t, r, 1, "would import 5 entries: 1 added, 0 replaced, 2 skipped (already there), 2 failed")
	if got := e.must("", "ls"); got != "a\nb\n" {
		t.Errorf("dry run changed the store: %q", got)
	}
	r = e.run(false, in, "import")
	expectLines(t, r, 1, "1 added, 0 replaced, 2 skipped (already there), 2 failed")
	for _, s := range []string{"/bad: null cannot be stored", "/d/: ", "2 entries of 5 could not be imported"} {
		if !strings.Contains(r.errOut, s) {
			t.Errorf("stderr %q lacks %q", r.errOut, s)
		}
	}
	if got := e.must("", "get", "a"); got != "old\n" {
		t.Errorf("a = %q, replaced without --overwrite", got)
	}
	r = e.run(false, in, "import", "--overwrite")
	expectLines(t, r, 1, "0 added, 1 replaced, 2 skipped (already there), 2 failed")
	if got := e.must("", "get", "a"); got != "new\n" {
		t.Errorf("a = %q after --overwrite", got)
	}
	// Bad input: nothing is imported, and the error quotes nothing.
	expect(t, e.run(false, `{"x": "s3cret"`, "import"), 1, "", "not a JSON object")
	expect(t, e.run(false, `["s3cret"]`, "import"), 1, "", "not a JSON object")
	if r := e.run(false, `{"x": s3cret}`, "import"); strings.Contains(r.errOut, "s3cret") {
		t.Errorf("error quotes the input: %q", r.errOut)
	}
	expect(t, e.run(false, "{}", "import", "--from", "xml"), ExitUsage, "", "unknown --from")
}

var summaryRE = regexp.MustCompile(`trace: summary: (\d+) requests \((\d+) reads, (\d+) writes\)`)

// TestImportIsOneBatchedTask imports 2,000 entries and checks through the
// trace that they are one task (the config and each shard read once) and
// one plan (each shard written at most once per level).
func TestImportIsOneBatchedTask(t *testing.T) {
	t.Parallel()
	const n, shards = 2000, 4
	e := newEnv(t)
	e.must("", "init", "--iterations", "1000", "--shards", strconv.Itoa(shards))
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"d%d/e%d": "v%d"`, i%7, i, i)
	}
	b.WriteString("}")
	r := e.run(false, b.String(), "--trace", "import")
	expect(t, r, 0, "", "2000 added")
	m := summaryRE.FindStringSubmatch(r.errOut)
	if m == nil {
		t.Fatalf("no trace summary in %q", r.errOut[max(0, len(r.errOut)-300):])
	}
	requests, _ := strconv.Atoi(m[1])
	reads, _ := strconv.Atoi(m[2])
	writes, _ := strconv.Atoi(m[3])
	t.Logf("import of %d entries: %d requests (%d reads, %d writes) on %d shards", n, requests, reads, writes, shards)
	// The config and each shard once; every call plans before anything is
	// written, however late its goroutine starts, so each shard is written
	// at most once per level of the new entries (the root's listing, the
	// directories', the entries).
	if reads != 1+shards || writes > 3*shards {
		t.Errorf("%d reads and %d writes for %d entries on %d shards: not batched", reads, writes, n, shards)
	}
	// Importing again skips everything and writes nothing.
	r = e.run(false, b.String(), "--trace", "import")
	expect(t, r, 0, "", "0 added, 0 replaced, 2000 skipped")
	if m := summaryRE.FindStringSubmatch(r.errOut); m == nil || m[3] != "0" {
		t.Errorf("re-import wrote: %v", m)
	}
	// And export reads each shard once.
	r = e.run(false, "", "--trace", "export")
	if m := summaryRE.FindStringSubmatch(r.errOut); m == nil || m[2] != strconv.Itoa(1+shards) {
		t.Errorf("export: %v", m)
	}
}

func TestImportProgressBar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.init()
	var b strings.Builder
	b.WriteString("{")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"p/e%d": "v"`, i)
	}
	b.WriteString("}")
	in := writeFile(t, "in.json", b.String())
	r := e.run(true, "", "import", in)
	expect(t, r, 0, "", "400 added")
	if !strings.Contains(r.errOut, "Importing") {
		t.Errorf("no progress bar on a terminal: %q", r.errOut)
	}
	// Not in a pipe, and not for few entries.
	r = e.run(false, "", "import", "--prefix", "q", in)
	if strings.Contains(r.errOut, "Importing") {
		t.Errorf("progress bar in a pipe: %q", r.errOut)
	}
	r = e.run(true, "", "import", writeFile(t, "small.json", `{"s": "v"}`))
	if strings.Contains(r.errOut, "Importing") {
		t.Errorf("progress bar for one entry: %q", r.errOut)
	}
}

// The CSV samples follow the header rows the three managers document.
const (
	keepassxcCSV = `"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"
"Root","GitHub","octocat","gh-pass","https://github.com","two
lines","otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub","0","2024-01-01T00:00:00Z","2024-01-01T00:00:00Z"
"Root/Email","Work / Mail","me@work","mail-pass","https://mail.example","","","0","2024-01-01T00:00:00Z","2024-01-01T00:00:00Z"
"Root/Email","Work / Mail","me2@work","mail-pass2","","","","0","",""
`
	bitwardenCSV = `folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp
Social,1,login,Twitter,,"pin: 1234
recovery: abcd",0,https://twitter.com,me,tw-pass,
,,login,Bank,note here,,0,https://bank.example,acct,bank-pass,JBSWY3DPEHPK3PXP
`
	onePasswordCSV = "\uFEFF" + `Title,Website,Username,Password,One-time password,Favorite status,Archived status,Tags,Notes
Amazon,https://amazon.com,buyer,amz-pass,,Not favorite,Not archived,shopping,
..,https://dots.example,u,p,,Not favorite,Not archived,,
`
)

func TestImportCSV(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, csv string
		want      map[string]any
	}{
		{"keepassxc", keepassxcCSV, map[string]any{
			"/GitHub": map[string]any{"username": "octocat", "password": "gh-pass", "url": "https://github.com", "notes": "two\nlines",
				"totp": "otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub"},
			"/Email/Work - Mail":     map[string]any{"username": "me@work", "password": "mail-pass", "url": "https://mail.example", "notes": ""},
			"/Email/Work - Mail (2)": map[string]any{"username": "me2@work", "password": "mail-pass2", "url": "", "notes": ""},
		}},
		{"bitwarden", bitwardenCSV, map[string]any{
			"/Social/Twitter": map[string]any{"username": "me", "password": "tw-pass", "url": "https://twitter.com", "notes": "", "pin": "1234", "recovery": "abcd"},
			"/Bank":           map[string]any{"username": "acct", "password": "bank-pass", "url": "https://bank.example", "notes": "note here", "totp": "JBSWY3DPEHPK3PXP"},
		}},
		{"1password", onePasswordCSV, map[string]any{
			"/Amazon": map[string]any{"username": "buyer", "password": "amz-pass", "url": "https://amazon.com", "notes": ""},
			"/__":     map[string]any{"username": "u", "password": "p", "url": "https://dots.example", "notes": ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.init()
			r := e.run(false, c.csv, "import", "--from", "csv")
			expect(t, r, 0, "", fmt.Sprintf("%d added", len(c.want)))
			if got := decodeExport(t, e.must("", "export")); !reflect.DeepEqual(got, c.want) {
				t.Errorf("imported %v\nwant %v", got, c.want)
			}
		})
	}
	e := newEnv(t)
	e.init()
	r := e.run(false, "a,b\nsecret,value\n", "import", "--from", "csv")
	expect(t, r, ExitUsage, "", "CSV header is not one of")
	if strings.Contains(r.errOut, "secret") {
		t.Errorf("error quotes the input: %q", r.errOut)
	}
}

// requireGPG skips the test when gpg is missing, except in CI, where it
// fails.
func requireGPG(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is not installed (CI must install gnupg)")
		}
		t.Skip("gpg is not installed")
	}
}

// makePassStore makes a pass store with a throwaway GPG key in a new
// GNUPGHOME: files maps entry names to their plain content. It returns the
// store directory and the GNUPGHOME.
func makePassStore(t *testing.T, files map[string]string) (dir, gnupgHome string) {
	t.Helper()
	requireGPG(t)
	// Short paths: gpg-agent's socket path has a length limit.
	gnupgHome, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(gnupgHome, 0o700)
	gpg := func(stdin string, args ...string) {
		t.Helper()
		c := exec.Command("gpg", append([]string{"--batch", "--quiet", "--homedir", gnupgHome}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--homedir", gnupgHome, "--kill", "all")
		c.Run()
		os.RemoveAll(gnupgHome)
	})
	const id = "vaultdb-test@example.invalid"
	gpg("", "--passphrase", "", "--quick-gen-key", id, "default", "default", "never")
	dir = filepath.Join(t.TempDir(), "password-store")
	os.MkdirAll(filepath.Join(dir, ".git"), 0o700)
	os.WriteFile(filepath.Join(dir, ".gpg-id"), []byte(id+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".git", "ignored.gpg"), []byte("not encrypted"), 0o600)
	for name, content := range files {
		out := filepath.Join(dir, filepath.FromSlash(name)+".gpg")
		os.MkdirAll(filepath.Dir(out), 0o700)
		gpg(content, "--yes", "--trust-model", "always", "--encrypt", "-r", id, "-o", out)
	}
	return dir, gnupgHome
}

func TestImportPass(t *testing.T) {
	t.Parallel()
	dir, home := makePassStore(t, map[string]string{
		"email/work":   "mail-pass\nlogin: me@work\nurl: https://mail.example\n",
		"github":       "gh-pass\n",
		"bank/card":    "1234\nnotes without a colon\notpauth://totp/Bank?secret=JBSWY3DPEHPK3PXP\n",
		"social/x y z": "pw\n",
	})
	os.WriteFile(filepath.Join(dir, "broken.gpg"), []byte("not encrypted"), 0o600)
	e := newEnv(t)
	e.init()
	e.vars["GNUPGHOME"] = home
	r := e.run(false, "", "import", "--from", "pass", dir, "--prefix", "pass")
	expectLines(t, r, 1, "4 added, 0 replaced, 0 skipped (already there), 1 failed")
	if !strings.Contains(r.errOut, "/pass/broken: gpg cannot decrypt it") {
		t.Errorf("stderr %q", r.errOut)
	}
	want := map[string]any{
		"/pass/email/work":   map[string]any{"password": "mail-pass", "login": "me@work", "url": "https://mail.example"},
		"/pass/github":       "gh-pass",
		"/pass/bank/card":    map[string]any{"password": "1234", "totp": "otpauth://totp/Bank?secret=JBSWY3DPEHPK3PXP", "notes": "notes without a colon"},
		"/pass/social/x y z": "pw",
	}
	if got := decodeExport(t, e.must("", "export")); !reflect.DeepEqual(got, want) {
		t.Errorf("imported %v\nwant %v", got, want)
	}
	// $PASSWORD_STORE_DIR is the default directory.
	e.vars["PASSWORD_STORE_DIR"] = dir
	r = e.run(false, "", "import", "--from", "pass", "--prefix", "pass")
	expectLines(t, r, 1, "0 added, 0 replaced, 4 skipped")
}
