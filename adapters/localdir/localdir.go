// Package localdir implements a blob store in a local directory, one file per
// blob.
//
// # Layout
//
// Blob id is stored as the file <dir>/<id>. Ids may contain only the
// characters a-z, 0-9 and '-', so an id can never name a path outside the
// directory, a hidden file or one of the store's own files; any other id is
// rejected with a permanent error before any I/O. Beside the blobs the
// directory holds one lock file per blob written so far, .lock-<id>, and,
// only while a write is in progress or after a writer died, temporary files
// .tmp-<id>.<random>. Files are created with mode 0600 and directories with
// mode 0700. Nothing is ever written outside the store directory, so the
// only place an encrypted blob exists on disk is its own file (and, for a
// moment, its temporary file next to it).
//
// The revision of a blob is the hex SHA-256 of its content.
//
// # Reads
//
// Reads take no lock. A blob is only ever replaced by rename(2), which
// swaps the directory entry atomically, so a reader opens either the old
// file or the new one and reads it whole; it can never see a mix.
//
// # Writes and the lock rule
//
// A write of blob id runs these steps:
//
//  1. Open (creating it, 0600) the lock file .lock-<id> and take an
//     exclusive flock(2) on it. The lock is polled with LOCK_NB until it is
//     acquired, the context is done, or the lock timeout (DefaultLockTimeout
//     unless configured) passes; in the last case the write fails with a
//     transient error saying another process holds the lock.
//  2. Remove leftover temporary files of that blob.
//  3. Read the current content and compare its revision with the expected
//     one (NoRev: the blob must not exist). On a mismatch nothing is written
//     and the error matches ErrConflict.
//  4. Write the new content to a temporary file in the same directory, fsync
//     it, rename it over the blob, and fsync the directory.
//  5. Release the lock by closing the lock file.
//
// Why this is safe:
//
//   - A flock belongs to the open lock file, and the kernel drops it when the
//     last descriptor of that file is closed, which happens however the
//     holder ends: normal exit, panic, SIGKILL, out-of-memory kill. A lock
//     therefore never outlives the process holding it, and there is no
//     stale lock to detect, guess about or break: no pid files, no ages. The
//     lock timeout only bounds how long a write waits for a holder that is
//     still alive. Go opens files close-on-exec, so programs started by the
//     holder do not inherit and prolong the lock.
//   - Lock files are never deleted. Deleting one would let two writers lock
//     two different files under the same name, both believing they hold the
//     lock.
//   - The lock is held from the revision check to the rename, so no other
//     writer following this rule can slip in between the compare and the
//     swap: the write is a true compare-and-swap.
//   - A writer killed before the rename leaves the blob untouched; the
//     temporary file it leaves behind is removed by the next writer of that
//     blob. That writer holds the lock, so the file cannot belong to a live
//     writer. A writer killed after the rename has already made the new
//     content durable with fsync. Either way the blob holds the old or the
//     new content in full, never a torn file.
//
// The lock is advisory: it protects the store only against processes that
// follow this rule. flock(2) may not exclude processes on different machines
// sharing a network filesystem, so a store should live on a local disk (a
// synchronised folder such as Dropbox is local to each machine, but the
// synchronisation service does not follow this rule).
//
// Within one process, writes to the same blob are also serialised by a mutex
// before the flock is taken, so goroutines queue instead of polling.
package localdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Dir)(nil)

// DefaultLockTimeout is how long a write waits for another process's lock on
// the same blob before it gives up with a transient error.
const DefaultLockTimeout = 10 * time.Second

// maxIDLen keeps ".tmp-<id>.<random>" within the usual 255-byte file name
// limit.
const maxIDLen = 200

// maxPoll caps the interval between attempts to take a lock held by another
// process.
const maxPoll = 50 * time.Millisecond

// Options configures a Dir. The zero value gives the defaults.
type Options struct {
	// LockTimeout bounds how long a write waits for another process's lock
	// on the blob. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
}

// Dir is a blob store in a local directory. It is safe for concurrent use by
// multiple goroutines and by multiple processes.
type Dir struct {
	dir         string
	lockTimeout time.Duration

	mu    sync.Mutex
	local map[string]chan struct{} // per-blob in-process lock, see lock
}

// New returns a store in directory dir. The directory (and its parents) is
// created with mode 0700 on the first write if it does not exist; until then
// every read reports ErrNotFound.
func New(dir string, opts Options) *Dir {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	return &Dir{
		dir:         dir,
		lockTimeout: opts.LockTimeout,
		local:       make(map[string]chan struct{}),
	}
}

// Path returns the store directory.
func (d *Dir) Path() string { return d.dir }

// Read implements adapters.Adapter.
func (d *Dir) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := ctx.Err(); err != nil {
		return nil, adapters.NoRev, adapters.NewError("read", id, nil, err)
	}
	if err := validateID(id); err != nil {
		return nil, adapters.NoRev, adapters.NewError("read", id, nil, err)
	}
	data, err := os.ReadFile(d.blobPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrNotFound, nil)
	}
	if err != nil {
		return nil, adapters.NoRev, mapError("read", id, d.dir, err)
	}
	return data, revOf(data), nil
}

// Write implements adapters.Adapter.
func (d *Dir) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := ctx.Err(); err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	if err := validateID(id); err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	if err := d.ensureDir(); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, err)
	}
	unlock, err := d.lock(ctx, id)
	if err != nil {
		return adapters.NoRev, err
	}
	defer unlock()

	d.removeTemps(id)

	cur := adapters.NoRev
	old, err := os.ReadFile(d.blobPath(id))
	switch {
	case err == nil:
		cur = revOf(old)
	case errors.Is(err, fs.ErrNotExist):
	default:
		return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to read current content: %w", err))
	}
	if cur != rev {
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrConflict, nil)
	}
	// This is the last point where the write can be abandoned without
	// leaving any trace.
	if err := ctx.Err(); err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	if err := d.replace(id, data); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, err)
	}
	return revOf(data), nil
}

// replace atomically and durably replaces blob id with data.
func (d *Dir) replace(id string, data []byte) error {
	// CreateTemp creates the file with mode 0600.
	f, err := os.CreateTemp(d.dir, tempPrefix(id)+"*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file: %w", err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("failed to write temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("failed to sync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close temporary file: %w", err)
	}
	if err := os.Rename(tmp, d.blobPath(id)); err != nil {
		return fmt.Errorf("failed to rename temporary file: %w", err)
	}
	renamed = true
	// Without this the rename itself may be lost in a power failure.
	if err := syncDir(d.dir); err != nil {
		return fmt.Errorf("failed to sync store directory: %w", err)
	}
	return nil
}

// ensureDir creates the store directory if it is missing.
func (d *Dir) ensureDir() error {
	fi, err := os.Stat(d.dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "stat", Path: d.dir, Err: unix.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("failed to create store directory: %w", err)
	}
	// Best effort: make the new directory entry durable. A failure here
	// (an unreadable parent, say) must not stop the store from working.
	_ = syncDir(filepath.Dir(d.dir))
	return nil
}

// lock takes the exclusive lock on blob id (see the package documentation)
// and returns the function that releases it.
func (d *Dir) lock(ctx context.Context, id string) (func(), error) {
	deadline := time.Now().Add(d.lockTimeout)

	local := d.localLock(id)
	timer := time.NewTimer(d.lockTimeout)
	defer timer.Stop()
	select {
	case local <- struct{}{}:
	case <-ctx.Done():
		return nil, adapters.NewError("write", id, nil, ctx.Err())
	case <-timer.C:
		return nil, adapters.NewError("write", id, adapters.ErrTransient,
			fmt.Errorf("another write of this blob in this process did not finish within %s", d.lockTimeout))
	}
	release := func() { <-local }

	path := d.lockPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		release()
		return nil, mapError("write", id, d.dir, fmt.Errorf("failed to open lock file: %w", err))
	}
	fail := func(err error) (func(), error) {
		f.Close()
		release()
		return nil, err
	}
	fd := int(f.Fd())
	poll := time.Millisecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fail(mapError("write", id, d.dir,
				fmt.Errorf("failed to lock: %w", &fs.PathError{Op: "flock", Path: path, Err: err})))
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return fail(adapters.NewError("write", id, adapters.ErrTransient,
				fmt.Errorf("another process holds the lock %s (waited %s)", path, d.lockTimeout)))
		}
		wait = min(wait, poll)
		poll = min(2*poll, maxPoll)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(adapters.NewError("write", id, nil, ctx.Err()))
		case <-t.C:
		}
	}
	return func() {
		// Closing the only descriptor of the lock file drops the flock.
		f.Close()
		release()
	}, nil
}

// localLock returns the in-process lock of blob id: a channel with room for
// one token, so that waiting for it can be abandoned when the context ends.
func (d *Dir) localLock(id string) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.local[id]
	if !ok {
		ch = make(chan struct{}, 1)
		d.local[id] = ch
	}
	return ch
}

// removeTemps removes temporary files of blob id. It must only be called
// while holding the blob's lock: then the files can only be left over from a
// writer that died.
func (d *Dir) removeTemps(id string) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		// The write that follows reports any real problem with the directory.
		return
	}
	prefix := tempPrefix(id)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			_ = os.Remove(filepath.Join(d.dir, e.Name()))
		}
	}
}

func (d *Dir) blobPath(id string) string { return filepath.Join(d.dir, id) }
func (d *Dir) lockPath(id string) string { return filepath.Join(d.dir, ".lock-"+id) }

// tempPrefix ends in '.', which no id contains, so the temporary files of
// blob "a" can never be mistaken for those of blob "a-b".
func tempPrefix(id string) string { return ".tmp-" + id + "." }

func revOf(data []byte) adapters.Rev {
	sum := sha256.Sum256(data)
	return adapters.Rev(hex.EncodeToString(sum[:]))
}

func validateID(id string) error {
	if id == "" {
		return errors.New("invalid blob id: empty")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("invalid blob id: longer than %d bytes", maxIDLen)
	}
	if id[0] == '.' {
		return errors.New("invalid blob id: starts with '.'")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return errors.New("invalid blob id: only a-z, 0-9 and '-' are allowed")
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	err = f.Sync()
	if errors.Is(err, unix.EINVAL) {
		// Some filesystems cannot sync a directory; there is nothing more
		// to do on them.
		err = nil
	}
	return err
}

// mapError turns a filesystem error into an adapters error. Permission,
// read-only and disk-full failures are permanent and say so in plain words:
// retrying cannot fix them, and they must never look like conflicts.
func mapError(op, id, dir string, err error) error {
	var cause error
	kind := error(nil)
	switch {
	case errors.Is(err, unix.EROFS):
		cause = fmt.Errorf("the store directory %s is on a read-only filesystem: %w", dir, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		cause = fmt.Errorf("permission denied on the store directory %s: %w", dir, err)
	case errors.Is(err, unix.ENOSPC):
		cause = fmt.Errorf("disk full: no space left for the store directory %s: %w", dir, err)
	case errors.Is(err, unix.EDQUOT):
		cause = fmt.Errorf("disk quota exceeded for the store directory %s: %w", dir, err)
	case errors.Is(err, unix.ENOTDIR):
		cause = fmt.Errorf("the store path %s is not a directory, or one of its parents is a file: %w", dir, err)
	case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE),
		errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
		kind, cause = adapters.ErrTransient, err
	default:
		cause = err
	}
	return adapters.NewError(op, id, kind, cause)
}
