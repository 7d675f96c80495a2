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
// only while a write is in progress or after a writer died, the file
// <id>.lock that holds the new content on its way to <id>. Files are
// created with mode 0600 and directories with mode 0700. Nothing is ever
// written outside the store directory.
//
// The revision of a blob is the hex SHA-256 of its content.
//
// # Hostile files
//
// Every store file is opened with O_NOFOLLOW and checked with fstat before
// it is used: a symbolic link, a named pipe, a device or a directory in
// place of a blob or a lock file is refused with an error naming the file
// (matching ErrNotRegular), never followed, read or blocked on. A blob
// larger than adapters.MaxBlobSize is refused before it is read. When the
// store directory is writable by other users or owned by another user (not
// root), the store still works, but Options.Warn is told once.
//
// # Reads
//
// Reads take no lock. A blob is only ever replaced by rename(2), which
// swaps the directory entry atomically, so a reader opens either the old
// file or the new one and reads it whole; it can never see a mix.
//
// # Writes and the lock rule
//
// Two lock protocols meet in a store directory. vaultdb's own is flock(2)
// on .lock-<id>. The VaultDB reference implementation (JavaScript) creates
// <id>.lock with O_CREAT|O_EXCL, re-reads and compares <id>, writes the new
// content into <id>.lock, fsyncs it and renames it over <id>; on a mismatch
// it unlinks <id>.lock, and when <id>.lock exists it reports a conflict and
// its caller retries. A write here follows both:
//
//  1. Open (creating it, 0600) the lock file .lock-<id> and take an
//     exclusive flock on it, polling with LOCK_NB. This orders vaultdb
//     writers among themselves.
//  2. Create <id>.lock with O_CREAT|O_EXCL, mode 01600 (the sticky bit marks
//     it as vaultdb's). This excludes reference writers: while it exists
//     none of them can create it, and so none is between its compare and
//     its rename; while one of theirs exists, this step waits. Steps 1 and 2
//     share one deadline, the lock timeout (DefaultLockTimeout unless
//     configured); when it passes the write fails with a transient error
//     saying who holds the lock.
//  3. Read the current content and compare its revision with the expected
//     one (NoRev: the blob must not exist). On a mismatch <id>.lock is
//     removed, nothing is written and the error matches ErrConflict. When
//     <id> is still the very file this process wrote last (held open, see
//     blob.current in files.go), its revision is known without reading it.
//  4. Write the new content into <id>.lock, fsync it, rename it over <id>
//     (which releases the reference's lock), clear the sticky bit, and
//     fsync the directory (or wait for an fsync of it that another write
//     of this process started after this rename).
//  5. Release the flock: unlock .lock-<id>, which stays open for the next
//     write (or close it).
//
// Why this is safe:
//
//   - The lock is held from the revision check to the rename against both
//     kinds of writer, so the write is a true compare-and-swap: vaultdb
//     writers are excluded by the flock, reference writers by the O_EXCL
//     file, which is the very file they contend on.
//   - A flock belongs to the open lock file, and the kernel drops it when the
//     last descriptor of that file is closed, however the holder ends
//     (SIGKILL and out-of-memory kills included). Go opens files
//     close-on-exec, so programs started by the holder do not prolong it.
//     Lock files .lock-<id> are never deleted: deleting one would let two
//     writers lock two different files under the same name.
//   - A vaultdb writer killed between steps 2 and 4 leaves <id>.lock behind,
//     with the sticky bit. The next vaultdb writer of that blob holds the
//     flock, so it knows that no live vaultdb writer owns a sticky <id>.lock,
//     and removes it at once; the reference never sets the sticky bit (the
//     umask can only clear bits), so it is never mistaken for theirs. A
//     killed vaultdb therefore never blocks vaultdb. Until a vaultdb writer
//     of that blob or "vaultdb fsck --repair" comes along, it does block
//     reference writers of that blob, which keep retrying.
//   - A reference writer killed between its create and its rename leaves
//     <id>.lock behind without the sticky bit, and nothing can tell it from
//     a live writer's. It is treated as abandoned once its last write
//     (mtime) is StaleAfter old (DefaultStaleAfter, 30 s): a live reference
//     writer holds its lock for one read, one write and one fsync of a blob,
//     milliseconds. Options.Warn is told when such a file is removed.
//   - Either way the blob holds the old or the new content in full, never a
//     torn file: the new content only reaches <id> by rename, after fsync.
//
// The residual risk is a reference writer that stops for longer than
// StaleAfter between its create and its rename (suspended with SIGSTOP or a
// debugger, or stalled in fsync on a failing disk) and then resumes: its
// lock will have been removed, and its rename can replace a newer blob or
// move another writer's half-written <id>.lock into place. The locks are
// advisory: they protect the store only against processes that follow one
// of the two rules. flock(2) may not exclude processes on different
// machines sharing a network filesystem, so a store should live on a local
// disk (a synchronised folder such as Dropbox is local to each machine, but
// the synchronisation service follows neither rule).
//
// Within one process, writes to the same blob are also serialised by a mutex
// before the flock is taken, so goroutines queue instead of polling.
//
// A Dir keeps up to two files a blob open between writes (its lock file and
// the file it wrote last), within an eighth of the process's limit on open
// files; they are closed when the Dir is collected.
package localdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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

// DefaultStaleAfter is the age (time since its last write) at which a lock
// file <id>.lock of another program is treated as left by a writer that
// died. A live writer holds it for milliseconds.
const DefaultStaleAfter = 30 * time.Second

// maxIDLen keeps file names within the usual 255-byte limit.
const maxIDLen = 200

// maxPoll caps the interval between attempts to take a flock held by
// another vaultdb process.
const maxPoll = 50 * time.Millisecond

// maxRefPoll caps the interval between attempts to create <id>.lock while a
// reference writer holds it. Reference writers retry at once after a
// conflict, so a slow poll would starve this side; one failed open(2) per
// few milliseconds costs nothing.
const maxRefPoll = 4 * time.Millisecond

// ErrNotRegular is the cause of a refusal to use a store file that is not a
// regular file: a symbolic link, a named pipe, a device, a socket or a
// directory where a blob or a lock file should be.
var ErrNotRegular = errors.New("not a regular file")

// Options configures a Dir. The zero value gives the defaults.
type Options struct {
	// LockTimeout bounds how long a write waits for another process's lock
	// on the blob. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// StaleAfter is the age of its last write at which another program's
	// lock file <id>.lock is removed as abandoned. Zero means
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// Warn, if not nil, receives warnings meant for the user: once per Dir
	// when the store directory is writable by other users or owned by
	// another user, and whenever an abandoned lock file is removed. The
	// package never prints.
	Warn func(msg string)
	// Now is the clock lock ages are measured with. Nil means time.Now.
	Now func() time.Time
}

// Dir is a blob store in a local directory. It is safe for concurrent use by
// multiple goroutines and by multiple processes.
type Dir struct {
	dir         string
	lockTimeout time.Duration
	staleAfter  time.Duration
	warn        func(string)
	now         func() time.Time

	dirChecked sync.Once
	// stampsTrusted says whether a file's status-change time is one on the
	// store's filesystem (see stampsTell); set once, on the first write.
	stampsOnce    sync.Once
	stampsTrusted bool

	files *files  // per-blob state, and the files kept open
	dsync dirSync // the directory fsyncs of concurrent writes, shared
}

// New returns a store in directory dir. The directory (and its parents) is
// created with mode 0700 on the first write if it does not exist; until then
// every read reports ErrNotFound.
func New(dir string, opts Options) *Dir {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Dir{
		dir:         dir,
		lockTimeout: opts.LockTimeout,
		staleAfter:  opts.StaleAfter,
		warn:        opts.Warn,
		now:         opts.Now,
		files:       &files{blobs: make(map[string]*blob), limit: keepLimit()},
	}
	// A Dir has no Close: what it keeps open is closed when it is
	// collected (and by the kernel when the process ends).
	runtime.AddCleanup(d, (*files).closeAll, d.files)
	return d
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
	d.checkDir()
	data, err := readFile(d.blobPath(id))
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
	if len(data) > adapters.MaxBlobSize {
		return adapters.NoRev, adapters.NewError("write", id, nil,
			fmt.Errorf("the new content is %d bytes: %w", len(data), adapters.ErrBlobTooLarge))
	}
	d.checkDir()
	if err := d.ensureDir(); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, err)
	}
	deadline := time.Now().Add(d.lockTimeout)
	b, unlock, err := d.lock(ctx, id, deadline)
	if err != nil {
		return adapters.NoRev, err
	}
	defer unlock()

	f, err := d.refLock(ctx, id, deadline)
	if err != nil {
		return adapters.NoRev, err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			// Ours: nobody else removes a vaultdb lock file while this
			// process holds the flock.
			_ = os.Remove(f.Name())
		}
	}()

	cur, known := adapters.NoRev, false
	if d.stampsTell() {
		cur, known = b.current(d.blobPath(id))
	}
	if !known {
		d.files.forget(b)
		cur, err = revOfFile(d.blobPath(id))
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			cur = adapters.NoRev
		default:
			return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to read current content: %w", err))
		}
	}
	if cur != rev {
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrConflict, nil)
	}
	// This is the last point where the write can be abandoned without
	// leaving any trace.
	if err := ctx.Err(); err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	if _, err := f.Write(data); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to write %s: %w", f.Name(), err))
	}
	if err := f.Sync(); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to sync %s: %w", f.Name(), err))
	}
	if err := os.Rename(f.Name(), d.blobPath(id)); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to rename %s: %w", f.Name(), err))
	}
	renamed = true
	// The blob keeps the sticky bit if this is lost in a crash: harmless,
	// the mark only means something on the name <id>.lock.
	_ = f.Chmod(0o600)
	newRev := revOf(data)
	d.files.remember(b, f, newRev)
	// Without this the rename itself may be lost in a power failure.
	if err := d.dsync.after(d.dir); err != nil {
		return adapters.NoRev, mapError("write", id, d.dir, fmt.Errorf("failed to sync store directory: %w", err))
	}
	return newRev, nil
}

// readFile reads a store file whole: without following a symbolic link,
// only if it is a regular file, and only up to adapters.MaxBlobSize.
// O_NONBLOCK keeps a named pipe from blocking the open; O_NOCTTY keeps a
// terminal device from becoming the controlling terminal.
func readFile(path string) ([]byte, error) {
	f, size, err := openBlob(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The size is a hint: a file growing while it is read is still cut
	// off at the limit. Reading into a buffer of that size, not one grown
	// by doubling, halves what a read allocates. ReadFrom grows the buffer
	// whenever less than MinRead is free, even to find the end of the
	// file, so the room for that read is part of the size (size+1 made
	// every read of a shard allocate twice its size).
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, adapters.MaxBlobSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > adapters.MaxBlobSize {
		return nil, fmt.Errorf("%s grew past the limit while it was read: %w", path, adapters.ErrBlobTooLarge)
	}
	return buf.Bytes(), nil
}

// revOfFile is revOf of a store file's content, read as readFile reads it
// but hashed as it streams by: a write only compares revisions, and
// reading the old content whole was most of what an import allocated.
func revOfFile(path string) (adapters.Rev, error) {
	f, _, err := openBlob(path)
	if err != nil {
		return adapters.NoRev, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, adapters.MaxBlobSize+1))
	if err != nil {
		return adapters.NoRev, err
	}
	if n > adapters.MaxBlobSize {
		return adapters.NoRev, fmt.Errorf("%s grew past the limit while it was read: %w", path, adapters.ErrBlobTooLarge)
	}
	return adapters.Rev(hex.EncodeToString(h.Sum(nil))), nil
}

// openBlob opens a store file for reading as readFile describes, and
// returns its size, which is within adapters.MaxBlobSize.
func openBlob(path string) (*os.File, int64, error) {
	f, err := openFile(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if fi.Size() > adapters.MaxBlobSize {
		f.Close()
		return nil, 0, fmt.Errorf("%s is %d bytes: %w", path, fi.Size(), adapters.ErrBlobTooLarge)
	}
	return f, fi.Size(), nil
}

// openFile opens a store file with open(2) flags (O_NOFOLLOW and
// O_CLOEXEC added) and refuses anything but a regular file.
func openFile(path string, flags int, mode uint32) (*os.File, error) {
	f, _, err := openFileStat(path, flags, mode)
	return f, err
}

// openFileStat is openFile that also returns the file's fstat.
func openFileStat(path string, flags int, mode uint32) (*os.File, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := openRetry(path, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if errors.Is(err, unix.ELOOP) {
		return nil, st, notRegular(path, "a symbolic link")
	}
	if err != nil {
		return nil, st, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, st, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, st, notRegular(path, fileKind(uint32(st.Mode)))
	}
	return os.NewFile(uintptr(fd), path), st, nil
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func notRegular(path, kind string) error {
	return fmt.Errorf("refusing to use %s: it is %s: %w", path, kind, ErrNotRegular)
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a named pipe (FIFO)"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "not a regular file"
}

// checkDir tells Options.Warn, once, when the store directory can be
// changed by other users: like ssh with ~/.ssh, the store still works, but
// whoever can write the directory can replace or delete its files.
func (d *Dir) checkDir() {
	if d.warn == nil {
		return
	}
	d.dirChecked.Do(func() {
		var st unix.Stat_t
		if err := unix.Stat(d.dir, &st); err != nil {
			return // not created yet, or the operation reports the problem
		}
		if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
			d.warn(fmt.Sprintf("the store directory %s belongs to another user (uid %d): that user can replace or delete the store's files", d.dir, st.Uid))
		}
		if st.Mode&0o022 != 0 {
			d.warn(fmt.Sprintf("the store directory %s is writable by other users (mode %04o): they can replace or delete the store's files; make it private with: chmod go-w %s", d.dir, st.Mode&0o7777, d.dir))
		}
	})
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

// lock takes vaultdb's exclusive lock on blob id (see the package
// documentation) and returns the blob's state, which the caller may use
// until it calls the function returned, which releases the lock.
//
// The lock file stays open between writes (up to the files' limit), so a
// write takes the flock on the descriptor it has instead of opening the
// file again: a lock file is never deleted, but if one were replaced the
// flock would exclude nobody, so after locking the name is checked to
// still be that file.
func (d *Dir) lock(ctx context.Context, id string, deadline time.Time) (*blob, func(), error) {
	b := d.files.get(id)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case b.token <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, adapters.NewError("write", id, nil, ctx.Err())
	case <-timer.C:
		return nil, nil, adapters.NewError("write", id, adapters.ErrTransient,
			fmt.Errorf("another write of this blob in this process did not finish within %s", d.lockTimeout))
	}
	release := func() { <-b.token }

	path := d.lockPath(id)
	fail := func(err error) (*blob, func(), error) {
		d.files.dropLock(b)
		release()
		return nil, nil, err
	}
	poll := time.Millisecond
	for {
		if b.lockFile == nil {
			f, st, err := openFileStat(path, unix.O_RDWR|unix.O_CREAT|unix.O_NONBLOCK|unix.O_NOCTTY, 0o600)
			if err != nil {
				return fail(mapError("write", id, d.dir, fmt.Errorf("failed to open lock file: %w", err)))
			}
			d.files.keepLock(b, f, fileID(&st))
			if afterOpenLock != nil {
				afterOpenLock()
			}
		}
		err := unix.Flock(int(b.lockFile.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			var st unix.Stat_t
			if err := unix.Lstat(path, &st); err == nil && fileID(&st) == b.lockID {
				break
			}
			// Replaced or removed since it was opened: lock the file
			// that has the name now, within the same deadline (a program
			// that keeps replacing it would otherwise hold this write for
			// ever).
			d.files.dropLock(b)
			if !time.Now().Before(deadline) {
				return fail(adapters.NewError("write", id, adapters.ErrTransient,
					fmt.Errorf("the lock file %s was replaced or removed each time this process locked it, for %s: another program is replacing or deleting it; stop that program (vaultdb's lock files must stay in place while vaultdb runs) and try again", path, d.lockTimeout)))
			}
			if err := ctx.Err(); err != nil {
				return fail(adapters.NewError("write", id, nil, err))
			}
			continue
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
				fmt.Errorf("another vaultdb process holds the lock %s (waited %s)", path, d.lockTimeout)))
		}
		if err := sleep(ctx, min(wait, poll)); err != nil {
			return fail(adapters.NewError("write", id, nil, err))
		}
		poll = min(2*poll, maxPoll)
	}
	return b, func() {
		d.files.unlock(b)
		release()
	}, nil
}

// afterOpenLock, if set (by tests), runs each time lock has opened the
// lock file, before it locks it.
var afterOpenLock func()

// LockedError is the cause of a write that gave up waiting for another
// program's lock file <id>.lock (the reference implementation's lock).
type LockedError struct {
	Path       string        // the lock file
	Age        time.Duration // since its last write
	Waited     time.Duration
	StaleAfter time.Duration // the age at which it is treated as abandoned
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another program holds the lock file %s (last written %s ago; waited %s); it is treated as abandoned once it is %s old",
		e.Path, e.Age.Round(time.Millisecond), e.Waited.Round(time.Millisecond), e.StaleAfter)
}

// refLock creates <id>.lock with O_EXCL (see the package documentation),
// waiting until deadline while another program holds it, and returns it
// open for writing. The caller must hold the flock of id.
func (d *Dir) refLock(ctx context.Context, id string, deadline time.Time) (*os.File, error) {
	path := d.refLockPath(id)
	start := time.Now()
	poll := time.Millisecond
	for {
		fd, err := openRetry(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600|unix.S_ISVTX)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != unix.EEXIST {
			return nil, mapError("write", id, d.dir, fmt.Errorf("failed to create lock file: %w", &fs.PathError{Op: "open", Path: path, Err: err}))
		}
		lf, err := d.inspect(id)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, mapError("write", id, d.dir, err)
		}
		if lf.Abandoned() {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, mapError("write", id, d.dir, fmt.Errorf("failed to remove the abandoned lock file: %w", err))
			}
			if !lf.Ours && d.warn != nil {
				d.warn(fmt.Sprintf("removed the lock file %s: another program's writer left it %s ago and must have stopped", path, lf.Age.Round(time.Second)))
			}
			continue
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, adapters.NewError("write", id, adapters.ErrTransient,
				&LockedError{Path: path, Age: lf.Age, Waited: time.Since(start), StaleAfter: d.staleAfter})
		}
		if err := sleep(ctx, min(wait, poll)); err != nil {
			return nil, adapters.NewError("write", id, nil, err)
		}
		poll = min(2*poll, maxRefPoll)
	}
}

// LockFile is a lock file <id>.lock found in the store directory.
type LockFile struct {
	Blob string
	Path string
	// Age is the time since its last write.
	Age time.Duration
	// Ours: created by vaultdb (it has the sticky bit). Seen by a process
	// holding the blob's flock, it was left by a vaultdb writer that died.
	Ours bool
	// Kind is empty for a regular file, else what the file is ("a symbolic
	// link", ...): never created by a writer, it was planted.
	Kind string
	// Stale: not ours, and older than the Dir's StaleAfter (or as far in
	// the future), or not a regular file.
	Stale bool
}

// Abandoned reports whether the lock file can be removed by a process
// holding the blob's flock: left by a vaultdb writer that died, or by
// another program's writer longer ago than a live writer holds it.
func (l LockFile) Abandoned() bool { return l.Ours || l.Stale }

// inspect describes <id>.lock.
func (d *Dir) inspect(id string) (LockFile, error) {
	path := d.refLockPath(id)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return LockFile{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	lf := LockFile{Blob: id, Path: path, Age: d.now().Sub(time.Unix(st.Mtim.Unix()))}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		lf.Kind = fileKind(uint32(st.Mode))
	} else {
		lf.Ours = st.Mode&unix.S_ISVTX != 0
	}
	// A time as far in the future is a clock set back or a forged time; a
	// file that is not a regular file was never created by a writer.
	lf.Stale = !lf.Ours && (lf.Age >= d.staleAfter || lf.Age <= -d.staleAfter || lf.Kind != "")
	return lf, nil
}

// LockFiles lists the lock files <id>.lock in the store directory that no
// live vaultdb writer holds: those left by writers that died, and those of
// other programs (live or not: Age and Stale tell). For "vaultdb fsck".
func (d *Dir) LockFiles() ([]LockFile, error) {
	entries, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []LockFile
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok || validateID(id) != nil {
			continue
		}
		lf, err := d.inspect(id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if lf.Ours {
			var left bool
			if lf, left = d.leftByVaultdb(id); !left {
				continue // a vaultdb write in progress, or just finished
			}
		}
		out = append(out, lf)
	}
	return out, nil
}

// leftByVaultdb reports whether blob id's <id>.lock was left by a vaultdb
// writer that died: it holds the flock of id for a moment (so that no
// vaultdb writer is between its steps 2 and 4) and looks again.
func (d *Dir) leftByVaultdb(id string) (LockFile, bool) {
	f, err := openFile(d.lockPath(id), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return LockFile{}, false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return LockFile{}, false
	}
	lf, err := d.inspect(id)
	return lf, err == nil && lf.Ours
}

// ClearLockFile removes blob id's lock file <id>.lock if it is abandoned
// (see LockFile.Abandoned), taking the blob's flock first so that no
// vaultdb writer is using it. It reports what it found and whether it
// removed it. For "vaultdb fsck --repair".
func (d *Dir) ClearLockFile(ctx context.Context, id string) (LockFile, bool, error) {
	if err := validateID(id); err != nil {
		return LockFile{}, false, adapters.NewError("write", id, nil, err)
	}
	_, unlock, err := d.lock(ctx, id, time.Now().Add(d.lockTimeout))
	if err != nil {
		return LockFile{}, false, err
	}
	defer unlock()
	lf, err := d.inspect(id)
	if errors.Is(err, fs.ErrNotExist) {
		return LockFile{Blob: id, Path: d.refLockPath(id)}, false, nil
	}
	if err != nil {
		return lf, false, mapError("write", id, d.dir, err)
	}
	if !lf.Abandoned() {
		return lf, false, nil
	}
	if err := os.Remove(lf.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return lf, false, mapError("write", id, d.dir, err)
	}
	return lf, true, syncDir(d.dir)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Dir) blobPath(id string) string    { return filepath.Join(d.dir, id) }
func (d *Dir) lockPath(id string) string    { return filepath.Join(d.dir, ".lock-"+id) }
func (d *Dir) refLockPath(id string) string { return filepath.Join(d.dir, id+".lock") }

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

// List implements adapters.Lister: the names of the regular files in the
// directory that can be blob ids (a missing directory holds none), in
// directory order. The CLI lists the store before commands that write (the
// stray-shard check), so this is kept to one pass over the directory: no
// sort (os.ReadDir sorts), no lstat (the entry type comes with the name),
// and the lock files .lock-<id>, about half of the entries of a store that
// has been written, are left out.
func (d *Dir) List(ctx context.Context) ([]string, error) {
	f, err := os.Open(d.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, adapters.NewError("list", d.dir, nil, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, adapters.NewError("list", d.dir, nil, err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
