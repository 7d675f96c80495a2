package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/vault"
)

// Exit codes. This table is the one place they are decided; README.md
// documents it.
const (
	ExitOK              = 0   // success
	ExitError           = 1   // any other failure
	ExitUsage           = 2   // bad command line: unknown command or flag, wrong arguments, invalid path, --force needed
	ExitNotFound        = 3   // the entry (or directory, or field) does not exist
	ExitWrongPassphrase = 4   // the passphrase does not open the store
	ExitStore           = 5   // no store at the location (get, set, ...) or a store already there (init)
	ExitUnauthorized    = 6   // not signed in to the store's service (Dropbox), or it refused the sign-in or access
	ExitUnavailable     = 7   // the store could not be reached or was busy (network, rate limit, server error), even after retries, or is being resharded
	ExitProblems        = 8   // fsck: problems remain in the store
	ExitInterrupted     = 130 // interrupted by a signal (Ctrl-C)
)

// errUsage matches every usage error.
var errUsage = errors.New("usage error")

// exitCodes maps error kinds to exit codes, first match wins.
var exitCodes = []struct {
	kind error
	code int
}{
	{errUsage, ExitUsage},
	{location.ErrUsage, ExitUsage},
	{vault.ErrInvalidPath, ExitUsage},
	{vault.ErrNotFound, ExitNotFound},
	{vault.ErrWrongPassphrase, ExitWrongPassphrase},
	{vault.ErrNoStore, ExitStore},
	{vault.ErrStoreExists, ExitStore},
	{adapters.ErrUnauthorized, ExitUnauthorized},
	{adapters.ErrTransient, ExitUnavailable},
	{vault.ErrMoved, ExitUnavailable},
	{vault.ErrMigrating, ExitUnavailable},
	{context.Canceled, ExitInterrupted},
	{errProblems, ExitProblems},
}

// exitCode returns the exit code for the error a command ended with.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	for _, e := range exitCodes {
		if errors.Is(err, e.kind) {
			return e.code
		}
	}
	return ExitError
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// hintError replaces the message of err (which it still matches with
// errors.Is) with one that says what to do.
type hintError struct {
	msg string
	err error
}

func (e *hintError) Error() string { return e.msg }
func (e *hintError) Unwrap() error { return e.err }

func hintf(err error, format string, args ...any) error {
	return &hintError{fmt.Sprintf(format, args...), err}
}

// notFoundError is a missing directory or field; it matches
// vault.ErrNotFound so that it gets the same exit code.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == vault.ErrNotFound }

func notFoundf(format string, args ...any) error {
	return &notFoundError{fmt.Sprintf(format, args...)}
}
