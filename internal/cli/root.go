// Package cmd is the vaultdb command line: one file per command, each an
// options struct and a run function over the engine in package vault.
// Everything a command touches outside the store (streams, terminal,
// clock, environment, clipboard) comes from a Factory, so tests can play a
// terminal or a pipe.
package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
)

// version can be set at build time with -ldflags "-X ...cmd.version=...";
// otherwise it is read from the build (buildVersion).
var version = ""

// buildVersion is the version of this binary: the -ldflags one, else the
// module version that "go install ...@v1.2.3" records, else the VCS
// revision and time that "go build" in a clone records; "dev" without any.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return cmp.Or(version, "dev")
	}
	if version != "" {
		return version + ", " + bi.GoVersion
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	if rev := settings["vcs.revision"]; rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev
		if t := settings["vcs.time"]; t != "" {
			v += ", " + t
		}
		if settings["vcs.modified"] == "true" {
			v += ", modified"
		}
		v += ")"
	}
	return v + ", " + bi.GoVersion
}

// Main runs vaultdb with the process's arguments and streams and returns
// the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &Factory{
		IO:        term.SystemIO(),
		Now:       time.Now,
		LookupEnv: secureProcess(),
		Rand:      rand.Reader,
		Clipboard: term.SystemClipboard{},
		ScheduleClipClear: func(sum [32]byte, d time.Duration) error {
			return term.StartClipClear(sum, d, envPassphrase)
		},
	}
	return Execute(ctx, f, os.Args[1:])
}

// Execute runs the command line args with f and returns the exit code. It
// prints the error, if any, as one line on f.IO.ErrOut.
func Execute(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	c, err := root.ExecuteContextC(ctx)
	f.traceSummary()
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = context.Canceled
	}
	if errors.Is(err, term.ErrCancelled) {
		fmt.Fprintln(f.IO.ErrOut, "vaultdb: "+term.ErrCancelled.Error())
		return ExitInterrupted
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IO.ErrOut, "vaultdb: interrupted")
		return ExitInterrupted
	}
	if !started {
		// Cobra refused the command line before any command ran.
		err = &usageError{cobraMessage(err)}
	}
	msg := err.Error()
	if h := f.hint(err); h != "" {
		msg += "; " + h
	}
	if (errors.Is(err, errUsage) || errors.Is(err, location.ErrUsage)) && c != nil {
		msg += fmt.Sprintf(" (see \"%s --help\")", c.CommandPath())
	}
	// An error may hold a name from the store or an input file.
	fmt.Fprintln(f.IO.ErrOut, "vaultdb: "+term.Printable(msg))
	return exitCode(err)
}

// cobraMessage makes one line of a cobra error.
func cobraMessage(err error) string {
	first, rest, _ := strings.Cut(err.Error(), "\n")
	if _, sugg, ok := strings.Cut(rest, "Did you mean this?"); ok {
		first += "; did you mean " + strings.Join(strings.Fields(sugg), " or ") + "?"
	}
	return first
}

// NewRootCmd returns the vaultdb command with all its subcommands.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "vaultdb",
		Short: "An encrypted password store on plain files",
		Long: `vaultdb keeps passwords, tokens and small JSON documents encrypted in a
store of a few files: a local directory, a folder in Dropbox (--store
dropbox:/FOLDER) or on a remoteStorage server (--store rs:USER@HOST).

Paths look like github/password; a leading "/" is optional and a trailing
"/" names a directory.

The store is --store DIR, else $VAULTDB_STORE, else $XDG_DATA_HOME/vaultdb
(~/.local/share/vaultdb). The passphrase is asked on the terminal; scripts
can use --passphrase-file FILE or $VAULTDB_PASSPHRASE (less safe).`,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err.Error()}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&f.StoreFlag, "store", "", "the store: a directory, or a folder in Dropbox (default $VAULTDB_STORE or $XDG_DATA_HOME/vaultdb)")
	pf.Lookup("store").Usage = "the store `DIR|dropbox:/FOLDER` (default $VAULTDB_STORE or $XDG_DATA_HOME/vaultdb)"
	pf.StringVar(&f.PassphraseFile, "passphrase-file", "", "read the passphrase from the first line of `FILE`")
	pf.BoolVar(&f.Trace, "trace", false, "print every store request, and a summary, on stderr")
	pf.BoolVar(&f.NoAgent, "no-agent", false, "neither ask the agent for keys nor hand them to it (also $"+envNoAgent+"=1)")

	root.AddCommand(
		newInitCmd(f, nil),
		newGetCmd(f, nil),
		newSetCmd(f, nil),
		newRmCmd(f, nil),
		newLsCmd(f, nil),
		newMvCmd(f, nil),
		newPasswdCmd(f, nil),
		newReshardCmd(f, nil),
		newGenerateCmd(f, nil),
		newTotpCmd(f, nil),
		newClipClearCmd(f),
		newClipServeCmd(f),
		newLoginCmd(f, nil),
		newLogoutCmd(f, nil),
		newExportCmd(f, nil),
		newImportCmd(f, nil),
		newEditCmd(f, nil),
		newFsckCmd(f, nil),
		newFindCmd(f, nil),
		newGrepCmd(f, nil),
		newCpCmd(f, nil),
		newGitCredentialCmd(f, nil),
		newAgentCmd(f, nil),
		newLockCmd(f, nil),
		newWebCmd(f, nil),
	)
	useOwnBashCompletion(root)
	return root
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := check(c, a); err != nil {
			return &usageError{err.Error()}
		}
		return nil
	}
}
