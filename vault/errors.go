package vault

import (
	"errors"
	"fmt"

	"github.com/vaultdb/vaultdb/vault/format"
)

// Errors callers tell apart with errors.Is. The format errors are re-exported
// so that users of the engine need not import the format package.
var (
	// ErrNotFound: the document does not exist.
	ErrNotFound = errors.New("no such entry")
	// ErrNoStore: there is no store (no config blob) at the location.
	ErrNoStore = errors.New("no store found")
	// ErrStoreExists: Create found a store already there.
	ErrStoreExists = errors.New("a store already exists there")
	// ErrTooManyConflicts: an operation kept colliding with other clients'
	// writes and gave up after the retry limit.
	ErrTooManyConflicts = errors.New("too many conflicting writes")
	// ErrEmptyPassphrase: Create or ChangePassphrase was given an empty
	// passphrase.
	ErrEmptyPassphrase = errors.New("the passphrase must not be empty")
	// ErrConfigChanged: ChangePassphrase found that another client changed
	// the config since the store was opened; nothing was written.
	ErrConfigChanged = errors.New("the store's config was changed by another client since it was opened; nothing was written, try again")
	// ErrInvalidValue: a document value that cannot be stored (not JSON, or
	// JSON null).
	ErrInvalidValue = errors.New("invalid document value")

	ErrWrongPassphrase = format.ErrWrongPassphrase
	ErrInvalidPath     = format.ErrInvalidPath
	ErrCorrupt         = format.ErrCorrupt
	// ErrMoved: a shard read was sealed by a migration (a reshard or a key
	// rotation): the store was opened by a layout it has left or is
	// leaving. Locate it again: if the config names another layout, open
	// that; if not, the migration is under way or must be resumed.
	ErrMoved              = format.ErrMoved
	ErrUnsupportedVersion = format.ErrUnsupportedVersion
	ErrBadConfig          = format.ErrBadConfig
)

// NotFoundError reports a missing document; it matches ErrNotFound.
type NotFoundError struct {
	Path string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s: no such entry", e.Path) }
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound
}

// OpError wraps a failure of one operation with the path it was about.
type OpError struct {
	Op   string // "get", "list", "find", "update", "remove", "prune"
	Path string
	Err  error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("failed to %s %s: %v", e.Op, e.Path, e.Err)
}
func (e *OpError) Unwrap() error { return e.Err }

// ConflictError reports an operation that gave up after repeated conflicts;
// it matches ErrTooManyConflicts.
type ConflictError struct {
	Blob     string // the shard of the last conflict
	Attempts int
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("gave up after %d conflicting writes to %s: other clients are writing the same entries; try again", e.Attempts, e.Blob)
}
func (e *ConflictError) Is(target error) bool { return target == ErrTooManyConflicts }
