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
	for _, tc := range []struct {
		args []string
		want string
	}{
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
	} {
		_, err := parseFlags(t, newSetCmd, tc.args...)
		wantUsage(t, tc.args, err, tc.want)
	}
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
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"0"}, "from 1 to"},
		{[]string{"abc"}, "from 1 to"},
		{[]string{"2000"}, "from 1 to"},
		{[]string{"--words", "0"}, "--words needs a number"},
		{[]string{"--words", "5", "16"}, "cannot be used with a length"},
		{[]string{"--words", "5", "--no-symbols"}, "cannot be used with a length"},
	} {
		_, err := parseFlags(t, newGenerateCmd, tc.args...)
		wantUsage(t, tc.args, err, tc.want)
	}
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
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--time", "yesterday"}, "--time"},
		{[]string{"--time", "-5"}, "before 1970"},
		{[]string{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}, "otpauth"},
	} {
		_, err := parseFlags(t, newTotpCmd, tc.args...)
		wantUsage(t, tc.args, err, tc.want)
	}
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
