package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
)

// parseFlags runs a command's argument and flag checks through its runF
// seam, with no store: the options the run function would get, or the
// error. A run function not reached with no error fails the test.
func parseFlags[T any](t *testing.T, newCmd func(*Factory, func(*T) error) *cobra.Command, args ...string) (*T, error) {
	t.Helper()
	f := &Factory{
		IO:        &term.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard},
		LookupEnv: func(string) (string, bool) { return "", false },
		Now:       time.Now,
	}
	var got *T
	c := newCmd(f, func(o *T) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	if err == nil && got == nil {
		t.Fatalf("%s %q: the run function was not reached", c.Name(), args)
	}
	return got, err
}

// wantUsage fails unless err is a usage error (exit code 2) saying want.
func wantUsage(t *testing.T, args []string, err error, want string) {
	t.Helper()
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), want) {
		t.Errorf("%q: error %v, want a usage error saying %q", args, err, want)
	}
}

// usageCase is arguments that must be a usage error saying want.
type usageCase struct {
	args []string
	want string
}

// wantUsages checks each case against the command newCmd makes.
func wantUsages[T any](t *testing.T, newCmd func(*Factory, func(*T) error) *cobra.Command, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		_, err := parseFlags(t, newCmd, tc.args...)
		wantUsage(t, tc.args, err, tc.want)
	}
}

func TestSetFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args                 []string
		path                 string
		generate, words      int
		noSymbols, multiline bool
		clip                 bool
	}{
		{args: []string{"a/b"}, path: "a/b"},
		{args: []string{"--generate", "a/b"}, path: "a/b", generate: defaultLength},
		{args: []string{"--generate", "32", "a/b"}, path: "a/b", generate: 32},
		{args: []string{"a/b", "32", "--generate"}, path: "a/b", generate: 32}, // pass's order
		{args: []string{"--generate=12", "--no-symbols", "-c", "a"}, path: "a", generate: 12, noSymbols: true, clip: true},
		{args: []string{"--generate", "--words", "6", "a"}, path: "a", generate: defaultLength, words: 6},
		{args: []string{"-m", "notes"}, path: "notes", multiline: true},
	} {
		o, err := parseFlags(t, newSetCmd, tc.args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if o.Path != tc.path || o.Generate != tc.generate || o.Words != tc.words || o.NoSymbols != tc.noSymbols ||
			o.Multiline != tc.multiline || o.Clip != tc.clip {
			t.Errorf("%q: path %q generate %d words %d no-symbols %v multiline %v clip %v", tc.args,
				o.Path, o.Generate, o.Words, o.NoSymbols, o.Multiline, o.Clip)
		}
	}
	wantUsages(t, newSetCmd, []usageCase{
		{[]string{"--words", "6", "a"}, "--words needs --generate"},
		{[]string{"-c", "a"}, "--clip needs --generate"},
		{[]string{"--generate", "--json", "a"}, "cannot be used together"},
		{[]string{"--generate", "-m", "a"}, "cannot be used together"},
		{[]string{"--generate=0", "a"}, "between 1 and"},
		{[]string{"--generate", "--words", "65", "a"}, "--words needs a number"},
		{[]string{"--generate", "--words", "6", "--no-symbols", "a"}, "cannot be used with a length"},
		{[]string{"--generate", "16", "--words", "6", "a"}, "cannot be used with a length"},
		{[]string{"a", "b"}, "set takes one PATH"},
		{[]string{"--clip-timeout", "5s", "a"}, "--clip-timeout needs --clip"},
	})
}

func TestGetFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newGetCmd, "-c", "--clip-timeout", "10s", "--field", "user", "a/b")
	if err != nil || o.Path != "a/b" || !o.Clip || o.Timeout != 10*time.Second || o.Field != "user" {
		t.Errorf("get -c --clip-timeout 10s --field user: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newGetCmd, "-n", "--json", "a")
	if err != nil || !o.NoNewline || !o.JSON || o.Clip || o.Timeout != defaultClipTimeout {
		t.Errorf("get -n --json: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newGetCmd, "-c", "--clip-timeout", "-1s", "a")
	wantUsage(t, nil, err, "must not be negative")
	_, err = parseFlags(t, newGetCmd, "--clip-timeout", "1s", "a")
	wantUsage(t, nil, err, "--clip-timeout needs --clip")
	if _, err = parseFlags(t, newGetCmd, "a", "b"); err == nil {
		t.Error("get a b: no error")
	}
}

func TestGenerateFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newGenerateCmd)
	if err != nil || o.Length != defaultLength || o.Words != 0 || o.NoSymbols {
		t.Errorf("generate: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newGenerateCmd, "16", "--no-symbols")
	if err != nil || o.Length != 16 || !o.NoSymbols {
		t.Errorf("generate 16 --no-symbols: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newGenerateCmd, "--words", "5", "--separator", " ")
	if err != nil || o.Words != 5 || o.Separator != " " {
		t.Errorf("generate --words 5: %+v, %v", o, err)
	}
	wantUsages(t, newGenerateCmd, []usageCase{
		{[]string{"0"}, "from 1 to"},
		{[]string{"abc"}, "from 1 to"},
		{[]string{"2000"}, "from 1 to"},
		{[]string{"--words", "0"}, "--words needs a number"},
		{[]string{"--words", "5", "16"}, "cannot be used with a length"},
		{[]string{"--words", "5", "--no-symbols"}, "cannot be used with a length"},
	})
}

func TestInitFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newInitCmd, "--shards", "8", "--iterations", "1000", "--allow-weak-passphrase")
	if err != nil || o.Shards != 8 || o.Iterations != 1000 || !o.AllowWeak {
		t.Errorf("init: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newInitCmd, "--shards", "0")
	wantUsage(t, nil, err, "--shards must be")
	_, err = parseFlags(t, newInitCmd, "--iterations", "0")
	wantUsage(t, nil, err, "--iterations must be")
}

func TestImportFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newImportCmd, "--from", "csv", "--prefix", "old/", "-n", "export.csv")
	if err != nil || o.From != "csv" || o.Prefix != "old/" || !o.DryRun || o.Overwrite || o.Source != "export.csv" {
		t.Errorf("import --from csv --prefix old/ -n export.csv: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newImportCmd, "--overwrite")
	if err != nil || o.From != "json" || o.Source != "" || !o.Overwrite {
		t.Errorf("import --overwrite: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newImportCmd, "--from", "keepass", "x")
	wantUsage(t, nil, err, `unknown --from "keepass"`)
	if _, err = parseFlags(t, newImportCmd, "a", "b"); err == nil {
		t.Error("import a b: no error")
	}
}

func TestTotpFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newTotpCmd, "--time", "2025-01-02T15:04:05Z", "github/totp")
	if err != nil || o.Path != "github/totp" || !o.At.Equal(time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("totp --time RFC 3339: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newTotpCmd, "--time", "59", "-c")
	if err != nil || o.Path != "" || o.At.Unix() != 59 || !o.Clip {
		t.Errorf("totp --time 59 -c: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newTotpCmd, "dir/")
	if err != nil || !o.At.IsZero() {
		t.Errorf("totp without --time: %+v, %v", o, err)
	}
	wantUsages(t, newTotpCmd, []usageCase{
		{[]string{"--time", "yesterday"}, "--time"},
		{[]string{"--time", "-5"}, "before 1970"},
		{[]string{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}, "otpauth"},
	})
}

func TestRmFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newRmCmd, "-rf", "old/", "x")
	if err != nil || !o.Recursive || !o.Force || len(o.Paths) != 2 {
		t.Errorf("rm -rf old/ x: %+v, %v", o, err)
	}
	if _, err = parseFlags(t, newRmCmd); err == nil {
		t.Error("rm without a path: no error")
	}
}

func TestWebFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newWebCmd)
	if err != nil || o.Port != DefaultWebPort {
		t.Errorf("web: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newWebCmd, "--port", "0")
	if err != nil || o.Port != 0 {
		t.Errorf("web --port 0: %+v, %v", o, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "70000"}, "not a TCP port"},
		{[]string{"0.0.0.0"}, "unknown command"},
	} {
		_, err := parseFlags(t, newWebCmd, tc.args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: error %v, want a usage error", tc.args, err)
		}
	}
}

func TestPasswdFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newPasswdCmd, "--new-passphrase-file", "new.txt", "--iterations", "5000", "--allow-weak-passphrase")
	if err != nil || o.NewPassphraseFile != "new.txt" || o.Iterations != 5000 || !o.AllowWeak || o.RotateKeys {
		t.Errorf("passwd --new-passphrase-file new.txt --iterations 5000: %+v, %v", o, err)
	}
	if o != nil && (o.StoreLocation == nil || o.OpenStore == nil || o.UnlockStore == nil || o.AgentForget == nil || o.AgentRefresh == nil) {
		t.Errorf("passwd: the options lack what the run uses: %+v", o)
	}
	o, err = parseFlags(t, newPasswdCmd, "--rotate-keys")
	if err != nil || !o.RotateKeys || o.Iterations != 0 {
		t.Errorf("passwd --rotate-keys: %+v, %v", o, err)
	}
	wantUsages(t, newPasswdCmd, []usageCase{
		{[]string{"--rotate-keys", "--new-passphrase-file", "x"}, "--rotate-keys keeps the passphrase"},
		{[]string{"--rotate-keys", "--iterations", "10"}, "--rotate-keys keeps the passphrase"},
		{[]string{"--iterations", "-1"}, "--iterations must be"},
		{[]string{"--iterations", "100000000000"}, "--iterations must be"},
		{[]string{"secret"}, "unknown command"},
	})
}

func TestReshardFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newReshardCmd)
	if err != nil || o.Shards != 0 || o.Resume {
		t.Errorf("reshard: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newReshardCmd, "64")
	if err != nil || o.Shards != 64 || o.Resume {
		t.Errorf("reshard 64: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newReshardCmd, "--resume")
	if err != nil || o.Shards != 0 || !o.Resume {
		t.Errorf("reshard --resume: %+v, %v", o, err)
	}
	wantUsages(t, newReshardCmd, []usageCase{
		{[]string{"0"}, "shard count must be a number"},
		{[]string{"many"}, "shard count must be a number"},
		{[]string{"100000000"}, "shard count must be a number"},
		{[]string{"--resume", "8"}, "--resume takes no shard count"},
		{[]string{"8", "16"}, "accepts at most 1 arg"},
	})
}

func TestAgentFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newAgentCmd)
	if err != nil || o.Timeout != 10*time.Minute || o.ErrOut == nil || o.Getenv == nil {
		t.Errorf("agent: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newAgentCmd, "--timeout", "0")
	if err != nil || o.Timeout != 0 {
		t.Errorf("agent --timeout 0: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newAgentCmd, "--timeout", "1h")
	if err != nil || o.Timeout != time.Hour {
		t.Errorf("agent --timeout 1h: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newAgentCmd, "--timeout", "-1s")
	wantUsage(t, nil, err, "--timeout must not be negative")
	_, err = parseFlags(t, newAgentCmd, "now")
	wantUsage(t, nil, err, "unknown command")
}

func TestLockFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newLockCmd)
	if err != nil || o.StoreOnly {
		t.Errorf("lock: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newLockCmd, "--store-only")
	if err != nil || !o.StoreOnly || o.StoreLocation == nil {
		t.Errorf("lock --store-only: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newLockCmd, "all")
	wantUsage(t, nil, err, "unknown command")
}

func TestLsFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newLsCmd)
	if err != nil || o.Dir != "" || o.Recursive {
		t.Errorf("ls: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newLsCmd, "-r", "web/")
	if err != nil || o.Dir != "web/" || !o.Recursive {
		t.Errorf("ls -r web/: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newLsCmd, "a", "b")
	wantUsage(t, nil, err, "accepts at most 1 arg")
}

func TestMvCpFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newMvCmd, "-f", "a/b", "c/")
	if err != nil || o.Src != "a/b" || o.Dst != "c/" || !o.Force || o.Copy {
		t.Errorf("mv -f a/b c/: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newCpCmd, "a/b", "c")
	if err != nil || o.Src != "a/b" || o.Dst != "c" || o.Force || !o.Copy {
		t.Errorf("cp a/b c: %+v, %v", o, err)
	}
	for _, newCmd := range []func(*Factory, func(*MvOptions) error) *cobra.Command{newMvCmd, newCpCmd} {
		for _, args := range [][]string{{"a"}, {"a", "b", "c"}} {
			_, err := parseFlags(t, newCmd, args...)
			wantUsage(t, args, err, "accepts 2 arg")
		}
	}
}

func TestFindGrepFlags(t *testing.T) {
	t.Parallel()
	f, err := parseFlags(t, newFindCmd, "git", "mail")
	if err != nil || len(f.Patterns) != 2 || f.Patterns[0] != "git" || f.Patterns[1] != "mail" {
		t.Errorf("find git mail: %+v, %v", f, err)
	}
	_, err = parseFlags(t, newFindCmd)
	wantUsage(t, nil, err, "requires at least 1 arg")
	g, err := parseFlags(t, newGrepCmd, "-i", "user.*", "web/")
	if err != nil || g.Pattern != "user.*" || g.Dir != "web/" || !g.IgnoreCase {
		t.Errorf("grep -i user.* web/: %+v, %v", g, err)
	}
	g, err = parseFlags(t, newGrepCmd, "x")
	if err != nil || g.Pattern != "x" || g.Dir != "" || g.IgnoreCase {
		t.Errorf("grep x: %+v, %v", g, err)
	}
	for _, args := range [][]string{{}, {"a", "b", "c"}} {
		_, err := parseFlags(t, newGrepCmd, args...)
		wantUsage(t, args, err, "accepts between 1 and 2 arg")
	}
}

func TestExportFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newExportCmd)
	if err != nil || o.Dir != "" || o.Format != "json" || o.Force || o.Output != "" {
		t.Errorf("export: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newExportCmd, "-f", "-o", "out.json", "--format", "json", "web/")
	if err != nil || o.Dir != "web/" || !o.Force || o.Output != "out.json" {
		t.Errorf("export -f -o out.json web/: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newExportCmd, "a", "b")
	wantUsage(t, nil, err, "accepts at most 1 arg")
}

func TestEditFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newEditCmd, "--unsafe-tmp", "a/b")
	if err != nil || o.Path != "a/b" || !o.UnsafeTmp || o.OpenStore == nil {
		t.Errorf("edit --unsafe-tmp a/b: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"a", "b"}} {
		_, err := parseFlags(t, newEditCmd, args...)
		wantUsage(t, args, err, "accepts 1 arg")
	}
}

func TestFsckFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newFsckCmd)
	if err != nil || o.Repair {
		t.Errorf("fsck: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newFsckCmd, "--repair")
	if err != nil || !o.Repair {
		t.Errorf("fsck --repair: %+v, %v", o, err)
	}
	_, err = parseFlags(t, newFsckCmd, "dir")
	wantUsage(t, nil, err, "unknown command")
}

func TestGitCredentialFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newGitCredentialCmd, "get")
	if err != nil || o.Op != "get" || o.Prefix != "git/" {
		t.Errorf("git-credential get: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newGitCredentialCmd, "--dir", "code/", "erase")
	if err != nil || o.Op != "erase" || o.Prefix != "code/" {
		t.Errorf("git-credential --dir code/ erase: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"get", "store"}} {
		_, err := parseFlags(t, newGitCredentialCmd, args...)
		wantUsage(t, args, err, "accepts 1 arg")
	}
}

func TestTotpAddURIFlags(t *testing.T) {
	t.Parallel()
	a, err := parseFlags(t, newTotpAddCmd, "-f", "github/totp")
	if err != nil || a.Path != "github/totp" || !a.Force {
		t.Errorf("totp add -f github/totp: %+v, %v", a, err)
	}
	const uri = "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give the PATH"},
		{[]string{"a", "JBSWY3DPEHPK3PXP"}, "the secret is never accepted as an argument"},
		{[]string{"a", uri}, "never accepted as an argument"},
	} {
		_, err := parseFlags(t, newTotpAddCmd, tc.args...)
		wantUsage(t, tc.args, err, tc.want)
		if err != nil && strings.Contains(err.Error(), "JBSWY3DPEHPK3PXP") {
			t.Errorf("%q: the error repeats the secret: %v", tc.args, err)
		}
	}
	u, err := parseFlags(t, newTotpURICmd, "github/totp")
	if err != nil || u.Path != "github/totp" {
		t.Errorf("totp uri github/totp: %+v, %v", u, err)
	}
	wantUsages(t, newTotpURICmd, []usageCase{
		{nil, "accepts 1 arg"},
		{[]string{"a", "b"}, "accepts 1 arg"},
		{[]string{uri}, "never accepted as an argument"},
	})
}

func TestLoginLogoutFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(t, newLoginCmd, "dropbox", "--app-key", "abc")
	if err != nil || o.Service == nil || o.Service.Name != "dropbox" || o.AppKey != "abc" || len(o.Args) != 0 {
		t.Errorf("login dropbox --app-key abc: %+v, %v", o, err)
	}
	o, err = parseFlags(t, newLoginCmd, "remotestorage", "alice@example.com")
	if err != nil || o.Service == nil || o.Service.Name != "remotestorage" || len(o.Args) != 1 || o.Args[0] != "alice@example.com" {
		t.Errorf("login remotestorage alice@example.com: %+v, %v", o, err)
	}
	noService := []usageCase{
		{nil, "name the service"},
		{[]string{"dir"}, `unknown service "dir"`},
		{[]string{"gdrive"}, `unknown service "gdrive"`},
	}
	wantUsages(t, newLoginCmd, noService)
	wantUsages(t, newLogoutCmd, noService)
	l, err := parseFlags(t, newLogoutCmd, "dropbox")
	if err != nil || l.Service == nil || l.Service.Name != "dropbox" {
		t.Errorf("logout dropbox: %+v, %v", l, err)
	}
	_, err = parseFlags(t, newLogoutCmd, "dropbox", "x")
	wantUsage(t, nil, err, "takes no other arguments")
}
