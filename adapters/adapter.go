// Package adapters defines the blob-store contract every storage backend of
// vaultdb implements, and the typed errors callers use to tell failures apart.
//
// A blob store can only read a whole blob and overwrite a whole blob. The
// contract is compare-and-swap: every read returns an opaque revision, and a
// write names the revision it expects to replace. That is enough for the
// engine to stay safe with several uncoordinated clients on one store.
//
// Cross-cutting behaviour (tracing, retries, a bound on concurrent writes,
// latency and fault injection) is added by wrapping an Adapter; see the
// subpackages trace, retry, limit, latency and faulty, and package stack for
// the one order in which they are composed.
package adapters

import (
	"context"
	"errors"
	"time"
)

// Rev is an opaque revision of a blob: a content hash, a Dropbox rev, an
// HTTP ETag. Callers only compare revisions for equality and hand them back.
type Rev string

// NoRev is the revision of a blob that does not exist. Writing with NoRev
// means "create; the blob must not exist yet".
const NoRev Rev = ""

// Adapter is one blob store.
//
// Implementations must be safe for concurrent use by multiple goroutines and,
// for stores shared between processes or machines, by multiple clients.
type Adapter interface {
	// Read returns the whole content of blob id and its current revision.
	// A blob that does not exist yields an error matching ErrNotFound; that is
	// a normal result, not a failure.
	Read(ctx context.Context, id string) ([]byte, Rev, error)

	// Write replaces the whole content of blob id, atomically and durably,
	// if and only if the blob's current revision is rev (NoRev: the blob must
	// not exist). It returns the new revision. When the current revision is
	// anything else, nothing is written and the error matches ErrConflict.
	// A write that fails with any other error may or may not have happened;
	// callers must re-read before trusting their revision again.
	Write(ctx context.Context, id string, data []byte, rev Rev) (Rev, error)
}

// The kinds of failure. Errors returned by adapters match exactly one of them
// with errors.Is, or none for an unexpected, permanent failure.
var (
	// ErrNotFound: the blob does not exist.
	ErrNotFound = errors.New("blob not found")
	// ErrConflict: the blob's revision is not the one the write expected.
	ErrConflict = errors.New("revision conflict")
	// ErrTransient: a failure that may succeed if tried again later (network
	// error, timeout, rate limit, server error), after the adapter's own
	// retries were used up.
	ErrTransient = errors.New("temporary failure")
	// ErrUnauthorized: credentials are missing, expired or lack permission.
	// Fatal for the task; the user has to act.
	ErrUnauthorized = errors.New("not authorized")
)

// MaxBlobSize is the largest blob vaultdb reads or writes: 64 MiB.
//
// Anything read from a store is hostile until validated, and a blob is read
// whole into memory (and decoded at a few times its size), so every adapter
// checks the size before it reads: a blob larger than this is refused with
// an error matching ErrBlobTooLarge, and so is a write of one, so that
// vaultdb never writes what it would refuse to read back. Real stores are
// far smaller: a shard holds one encrypted line per entry and directory,
// about 130 bytes plus 4/3 of the value's size, so even 100 000 entries of
// 100-byte values over the default 4 shards make shards of about 7 MiB. A
// single value can be up to about 48 MiB.
const MaxBlobSize = 64 << 20

// ErrBlobTooLarge is the cause of a read or write refused because the blob
// is larger than MaxBlobSize. It is permanent (no Kind): retrying cannot
// shrink the blob.
var ErrBlobTooLarge = errors.New("blob larger than the limit of 64 MiB")

// Error is the error type adapters return. Kind is one of the sentinel errors
// above (or nil for a permanent failure of no particular kind); Err is the
// underlying cause.
type Error struct {
	Op   string // "read" or "write"
	ID   string // blob id
	Kind error
	Err  error
}

func (e *Error) Error() string {
	msg := e.Op + " " + e.ID
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Err != nil && e.Err != e.Kind {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil && e.Err != e.Kind {
		errs = append(errs, e.Err)
	}
	return errs
}

// NewError builds an *Error of the given kind.
func NewError(op, id string, kind, err error) error {
	return &Error{Op: op, ID: id, Kind: kind, Err: err}
}

// RetryAfterError is implemented by errors that carry the store's own hint of
// how long to wait before trying again, such as an HTTP Retry-After header on
// a 429 or 503 response. The retry wrapper finds it with errors.As and waits
// at least that long.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// RetryAfter returns the retry-after hint carried anywhere in err's chain.
func RetryAfter(err error) (time.Duration, bool) {
	var ra RetryAfterError
	if !errors.As(err, &ra) {
		return 0, false
	}
	return ra.RetryAfter(), true
}

// WriteLimiter is implemented by stores that take only so many writes at
// once from a client and refuse the overlapping ones rather than queue them
// (Dropbox's per-namespace write lock answers too_many_write_operations).
// MaxConcurrentWrites returns that number; package stack then bounds the
// client's writes in flight with package limit.
type WriteLimiter interface {
	MaxConcurrentWrites() int
}

// IsRetryable reports whether err is worth retrying at the adapter level.
func IsRetryable(err error) bool { return errors.Is(err, ErrTransient) }

// Lister is implemented by stores that can name the blobs they hold
// (a local directory, a remoteStorage folder, a Dropbox folder). It is
// optional and outside the engine's contract: checks use it to find shard
// files the config does not name (an altered shard count).
type Lister interface {
	// List returns the ids of the blobs in the store, in no order. It may
	// name files that are not blobs of a store (lock or temporary files);
	// callers pick the ids they know.
	List(ctx context.Context) ([]string, error)
}

// List lists the blobs of a, looking below the layers of package stack
// (each has an Unwrap method) for a store that is a Lister. ok is false
// when the store cannot list.
func List(ctx context.Context, a Adapter) (ids []string, ok bool, err error) {
	for a != nil {
		if l, is := a.(Lister); is {
			ids, err := l.List(ctx)
			return ids, true, err
		}
		u, is := a.(interface{ Unwrap() Adapter })
		if !is {
			return nil, false, nil
		}
		a = u.Unwrap()
	}
	return nil, false, nil
}
