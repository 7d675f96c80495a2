package localdir

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
)

// What a Dir keeps between the writes of one process, to spare each write
// an open of the lock file, a read and hash of the blob it replaces, and a
// directory fsync of its own. With 256 shards an import writes each shard
// some 24 times; these were a tenth of its CPU.

// blob is this process's state of one blob. token is its in-process lock
// (a channel with room for one, so that waiting for it can be abandoned
// when the context ends). The other fields are used only by the goroutine
// holding token.
type blob struct {
	token chan struct{}

	// lockFile is .lock-<id>, kept open between writes (nil when not),
	// and lockID the file it was when opened.
	lockFile *os.File
	lockID   inode
	lockKept bool // counted as kept open (else closed by unlock)

	// last is the file this process last wrote as <id>, kept open, with
	// the revision of what it wrote and the file's attributes right after
	// the write. See current.
	last     *os.File
	lastRev  adapters.Rev
	lastSeen stamp
}

// inode identifies a file on this machine.
type inode struct{ dev, ino uint64 }

func fileID(st *unix.Stat_t) inode { return inode{uint64(st.Dev), uint64(st.Ino)} }

// stamp is what any change of a file's content changes: its identity, its
// size, its modification time, and its status-change time (which only the
// kernel sets: no program can set it back).
type stamp struct {
	id           inode
	mode         uint32
	size         int64
	mtime, ctime unix.Timespec
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{fileID(st), uint32(st.Mode), st.Size, st.Mtim, st.Ctim}
}

// current returns the revision of the blob at path when it is still the
// file this process last wrote there, without reading it; known is false
// when it cannot tell (the caller reads and hashes the blob).
//
// Why this is safe. The caller holds both locks of the blob (the flock and
// <id>.lock), as it did when it wrote last; between then and now another
// writer may have written the blob. Every writer of either protocol puts
// new content in place by renaming a new file over <id> (the reference
// writes <id>.lock and renames it; so does vaultdb): the file at <id>
// after another writer's write is a different inode. The file this
// process wrote is held open in last, so its inode cannot be freed, and so
// no new file can be given its inode number: the name <id> has the same
// device and inode number as last only if it is still that very file. And
// that file's content is only ever changed by writing into it in place,
// which no writer of either protocol does; a program that does so anyway
// changes its size or its modification and status-change times, which are
// compared too (the status-change time cannot be set back by a program).
// TestWriteDetectsWriterInBetween covers a vaultdb writer, a writer
// following the reference's protocol, and one writing in place.
func (b *blob) current(path string) (rev adapters.Rev, known bool) {
	if b.last == nil {
		return adapters.NoRev, false
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || stampOf(&st) != b.lastSeen {
		return adapters.NoRev, false
	}
	return b.lastRev, true
}

// stampsTell reports whether blob.current may be used on d's filesystem.
// Its proof needs a status-change time that the kernel sets on every
// change: on vfat and exfat st_ctime is the creation time, and on FUSE,
// network and other filesystems it is whatever the server or driver says,
// so an in-place rewrite of the same size within one mtime tick would go
// unseen there. Those writes read and hash the blob as before.
func (d *Dir) stampsTell() bool {
	d.stampsOnce.Do(func() { d.stampsTrusted = ctimeIsChangeTimeAt(d.dir) })
	return d.stampsTrusted
}

// files is what a Dir keeps open, and the state of each blob it wrote.
type files struct {
	mu    sync.Mutex
	blobs map[string]*blob
	open  int // files kept open
	limit int // at most this many kept open
}

// keepLimit is how many files a Dir keeps open: two a blob (its lock file
// and the file last written), far below the process's limit on open files
// (Go raises the soft limit to the hard one at start).
func keepLimit() int {
	const most = 2048
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(rl.Cur/8, most))
}

// get returns the state of blob id.
func (fs *files) get(id string) *blob {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	b, ok := fs.blobs[id]
	if !ok {
		b = &blob{token: make(chan struct{}, 1)}
		fs.blobs[id] = b
	}
	return b
}

// reserve counts one more file kept open, if the limit allows.
func (fs *files) reserve() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.open >= fs.limit {
		return false
	}
	fs.open++
	return true
}

func (fs *files) closeKept(f *os.File) {
	f.Close()
	fs.mu.Lock()
	fs.open--
	fs.mu.Unlock()
}

// keepLock makes f, just opened, b's lock file for this write, and keeps
// it open after it when the limit allows.
func (fs *files) keepLock(b *blob, f *os.File, id inode) {
	b.lockFile, b.lockID, b.lockKept = f, id, fs.reserve()
}

// unlock releases the flock of b's lock file: closing it when it is not
// kept (which drops the flock), else unlocking it.
func (fs *files) unlock(b *blob) {
	if b.lockFile == nil {
		return
	}
	if !b.lockKept || unix.Flock(int(b.lockFile.Fd()), unix.LOCK_UN) != nil {
		fs.dropLock(b)
	}
}

// dropLock closes b's lock file (dropping its flock, if held).
func (fs *files) dropLock(b *blob) {
	if b.lockFile == nil {
		return
	}
	if b.lockKept {
		fs.closeKept(b.lockFile)
	} else {
		b.lockFile.Close()
	}
	b.lockFile = nil
}

// remember records that f, open, is now the blob's file, with content of
// revision rev, and keeps it open when the limit allows (else closes it).
func (fs *files) remember(b *blob, f *os.File, rev adapters.Rev) {
	fs.forget(b)
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || !fs.reserve() {
		f.Close()
		return
	}
	b.last, b.lastRev, b.lastSeen = f, rev, stampOf(&st)
}

// forget closes the file b last wrote, if kept.
func (fs *files) forget(b *blob) {
	if b.last != nil {
		fs.closeKept(b.last)
		b.last, b.lastRev = nil, adapters.NoRev
	}
}

// closeAll closes every file kept open; for a Dir no longer used.
func (fs *files) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, b := range fs.blobs {
		if b.lockFile != nil {
			b.lockFile.Close()
		}
		if b.last != nil {
			b.last.Close()
		}
	}
	fs.blobs, fs.open = nil, 0
}

// dirSync shares the directory fsyncs of concurrent writes: a write's
// rename is durable once an fsync of the directory that started after the
// rename has finished, and one fsync covers every rename before it, so a
// write waits for the next fsync to start and finish instead of running
// its own. Writes in a row still get one fsync each; writes at once (the
// engine writes a round's shards in parallel) share them.
type dirSync struct {
	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // fsyncs started
	done    uint64 // the last fsync finished (they run one at a time)
	running bool
	// failed is the number of the last fsync that failed (0: none yet),
	// err its error.
	failed uint64
	err    error

	fsync func(dir string) error // nil: syncDir (tests replace it)
}

// after returns once an fsync of dir that started after the call has
// finished. It fails if any fsync since the first that started after the
// call failed: a later success does not make up for it (after a failed
// write-back Linux may drop the dirty metadata, and it reports the failure
// once, so the next fsync succeeds without the rename).
func (s *dirSync) after(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	// Any fsync numbered need or later starts after this point; one
	// running now may have started before the caller's rename.
	need := s.started + 1
	for s.done < need {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		n := s.started
		s.mu.Unlock()
		fsync := s.fsync
		if fsync == nil {
			fsync = syncDir
		}
		err := fsync(dir)
		s.mu.Lock()
		s.running, s.done = false, n
		if err != nil {
			s.failed, s.err = n, err
		}
		s.cond.Broadcast()
	}
	// Fsyncs need to done all started after the caller's rename.
	if s.failed >= need {
		return s.err
	}
	return nil
}
