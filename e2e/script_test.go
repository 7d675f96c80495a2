package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs the CLI behaviour cases in testdata/script: each a
// sequence of vaultdb commands with their exit code, stdout and stderr.
//
//	vaultdb ARGS...   runs the binary (prefix ! when it must fail; a
//	                  failure must be one line on stderr)
//	exit N            the last vaultdb exited with code N
//
// Every script starts with VAULTDB_STORE=$WORK/store and
// VAULTDB_PASSPHRASE=pw, and no store.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("VAULTDB_STORE", filepath.Join(e.WorkDir, "store"))
			e.Setenv("VAULTDB_PASSPHRASE", "pw")
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, ".config"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"vaultdb": func(ts *testscript.TestScript, neg bool, args []string) {
				err := ts.Exec(bin, args...)
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("vaultdb: %v", err)
				}
				ts.Setenv("EXIT", strconv.Itoa(code))
				if neg != (code != 0) {
					ts.Fatalf("vaultdb %v: exit %d", args, code)
				}
				// A failure is one line on stderr, never a panic's trace (as
				// check in e2e_test.go requires of every Go e2e test).
				if errOut := ts.ReadFile("stderr"); code != 0 && (strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "goroutine")) {
					ts.Fatalf("vaultdb %v: the error is not one line: %q", args, errOut)
				}
			},
			"exit": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: exit N")
				}
				if got := ts.Getenv("EXIT"); (got == args[0]) == neg {
					ts.Fatalf("exit code %s, want %s", got, args[0])
				}
			},
		},
	})
}
