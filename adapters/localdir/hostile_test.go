package localdir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
)

// plantRefLock creates <id>.lock as a reference writer does (O_EXCL, the
// umask's mode, no sticky bit) with partial content, as if it died there.
func plantRefLock(t *testing.T, dir, id string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, id+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial new cont")
	f.Close()
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRefLockLeftByVaultdb: a <id>.lock with the sticky bit was made by a
// vaultdb writer; seen under the flock, its writer is dead, and the next
// write removes it at once.
func TestRefLockLeftByVaultdb(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := localdir.New(dir, localdir.Options{LockTimeout: time.Hour})
	rev, err := d.Write(ctx, "a", []byte("v1"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "a.lock")
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600|unix.S_ISVTX)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fd, []byte("half"))
	unix.Close(fd)
	locks, err := d.LockFiles()
	if err != nil || len(locks) != 1 || !locks[0].Ours || !locks[0].Abandoned() {
		t.Fatalf("LockFiles = %+v, %v; want one abandoned lock of vaultdb", locks, err)
	}
	start := time.Now()
	if _, err := d.Write(ctx, "a", []byte("v2"), rev); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("write took %s", el)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a.lock still there: %v", err)
	}
	wantMode(t, filepath.Join(dir, "a"), 0o600) // the sticky bit cleared
}

// TestRefLockOfAnotherProgram: a reference writer's <id>.lock makes writes
// wait and then fail with a transient error naming it; once older than
// StaleAfter it is removed (with a warning) and the write goes through.
func TestRefLockOfAnotherProgram(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var mu sync.Mutex
	var warnings []string
	warn := func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }
	d := localdir.New(dir, localdir.Options{LockTimeout: 100 * time.Millisecond, Warn: warn})
	rev, err := d.Write(ctx, "a", []byte("v1"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	p := plantRefLock(t, dir, "a", time.Second)
	_, err = d.Write(ctx, "a", []byte("v2"), rev)
	var le *localdir.LockedError
	if !errors.Is(err, adapters.ErrTransient) || !errors.As(err, &le) || le.Path != p || !strings.Contains(err.Error(), p) {
		t.Fatalf("write under another program's lock: %v; want a transient LockedError naming %s", err, p)
	}
	if data, _, _ := d.Read(ctx, "a"); string(data) != "v1" {
		t.Fatalf("blob changed to %q", data)
	}
	// The reference's lock is released by its rename: the write follows.
	if err := os.Rename(p, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	_, rev, _ = d.Read(ctx, "a")
	if rev, err = d.Write(ctx, "a", []byte("v3"), rev); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	// Abandoned: older than StaleAfter.
	plantRefLock(t, dir, "a", localdir.DefaultStaleAfter+time.Second)
	if rev, err = d.Write(ctx, "a", []byte("v4"), rev); err != nil {
		t.Fatalf("write over an abandoned lock file: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "removed the lock file "+p) {
		t.Errorf("warnings: %q", warnings)
	}
	// A time far in the future is treated the same.
	plantRefLock(t, dir, "a", -time.Hour)
	if _, err = d.Write(ctx, "a", []byte("v5"), rev); err != nil {
		t.Fatalf("write over a lock file from the future: %v", err)
	}
}

// TestClearLockFile: what fsck --repair uses.
func TestClearLockFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := localdir.New(dir, localdir.Options{})
	p := plantRefLock(t, dir, "a", time.Second)
	lf, removed, err := d.ClearLockFile(ctx, "a")
	if err != nil || removed || lf.Abandoned() || lf.Ours {
		t.Fatalf("ClearLockFile of a young lock of another program: %+v, %v, %v", lf, removed, err)
	}
	os.Chtimes(p, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	locks, err := d.LockFiles()
	if err != nil || len(locks) != 1 || !locks[0].Stale {
		t.Fatalf("LockFiles: %+v, %v", locks, err)
	}
	if _, removed, err := d.ClearLockFile(ctx, "a"); err != nil || !removed {
		t.Fatalf("ClearLockFile of an old lock: %v, %v", removed, err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("still there: %v", err)
	}
}

// The bad-input matrix of the adapter: each hostile file gets a clear
// error naming it, quickly, and nothing changes.
func TestHostileFiles(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		plant func(t *testing.T, dir string)
		write bool // test a write instead of a read
		want  string
		is    error
	}{
		{"blob is a symlink to /dev/zero", func(t *testing.T, dir string) {
			os.Symlink("/dev/zero", filepath.Join(dir, "a"))
		}, false, "it is a symbolic link", localdir.ErrNotRegular},
		{"blob is a FIFO", func(t *testing.T, dir string) {
			if err := unix.Mkfifo(filepath.Join(dir, "a"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, false, "it is a named pipe", localdir.ErrNotRegular},
		{"blob is a directory", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "a"), 0o700)
		}, false, "it is a directory", localdir.ErrNotRegular},
		{"blob is huge", func(t *testing.T, dir string) {
			// Sparse: no disk space, no time.
			f, _ := os.Create(filepath.Join(dir, "a"))
			f.Truncate(adapters.MaxBlobSize + 1)
			f.Close()
		}, false, "67108865 bytes", adapters.ErrBlobTooLarge},
		{"write over a FIFO", func(t *testing.T, dir string) {
			unix.Mkfifo(filepath.Join(dir, "a"), 0o600)
		}, true, "it is a named pipe", localdir.ErrNotRegular},
		{"lock file is a symlink", func(t *testing.T, dir string) {
			os.Symlink(filepath.Join(dir, "victim"), filepath.Join(dir, ".lock-a"))
		}, true, "it is a symbolic link", localdir.ErrNotRegular},
		{"lock file is a FIFO", func(t *testing.T, dir string) {
			unix.Mkfifo(filepath.Join(dir, ".lock-a"), 0o600)
		}, true, "it is a named pipe", localdir.ErrNotRegular},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.plant(t, dir)
			before := names(t, dir)
			d := localdir.New(dir, localdir.Options{})
			done := make(chan error, 1)
			go func() {
				var err error
				if c.write {
					_, err = d.Write(ctx, "a", []byte("x"), adapters.NoRev)
				} else {
					_, _, err = d.Read(ctx, "a")
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("no answer within 10 s")
			}
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("got %v; want an error matching %v saying %q and naming the file", err, c.is, c.want)
			}
			if errors.Is(err, adapters.ErrTransient) || errors.Is(err, adapters.ErrNotFound) {
				t.Errorf("%v must be permanent", err)
			}
			after := names(t, dir)
			if c.write && len(after) == len(before)+1 && !slices.Contains(before, ".lock-a") {
				after = slices.DeleteFunc(after, func(n string) bool { return n == ".lock-a" }) // made by every write
			}
			if strings.Join(after, " ") != strings.Join(before, " ") {
				t.Errorf("directory changed: %v -> %v", before, after)
			}
		})
	}
}

// TestPlantedRefLockSymlink: a symlink planted as <id>.lock was never made
// by a writer; it is removed (not followed) and the write goes through.
func TestPlantedRefLockSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	os.Symlink(target, filepath.Join(dir, "a.lock"))
	d := localdir.New(dir, localdir.Options{LockTimeout: time.Hour})
	if _, err := d.Write(context.Background(), "a", []byte("x"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(target); err != nil || string(data) != "keep" {
		t.Fatalf("symlink target: %q, %v", data, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "a.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a.lock: %v", err)
	}
}

func TestWriteTooLarge(t *testing.T) {
	dir := t.TempDir()
	d := localdir.New(dir, localdir.Options{})
	_, err := d.Write(context.Background(), "a", make([]byte, adapters.MaxBlobSize+1), adapters.NoRev)
	if !errors.Is(err, adapters.ErrBlobTooLarge) {
		t.Fatalf("got %v", err)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("files written: %v", n)
	}
}

// TestWarnUnsafeDir: a store directory others can write is reported once
// through Options.Warn; a private one is not.
func TestWarnUnsafeDir(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	warn := func(m string) { warnings = append(warnings, m) }

	priv := t.TempDir()
	os.Chmod(priv, 0o700)
	d := localdir.New(priv, localdir.Options{Warn: warn})
	d.Write(ctx, "a", []byte("x"), adapters.NoRev)
	d.Read(ctx, "a")
	if len(warnings) != 0 {
		t.Fatalf("private directory: %q", warnings)
	}

	open := t.TempDir()
	os.Chmod(open, 0o777)
	d = localdir.New(open, localdir.Options{Warn: warn})
	for range 3 {
		d.Write(ctx, "a", []byte("x"), adapters.NoRev)
		d.Read(ctx, "a")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], open+" is writable by other users (mode 0777)") {
		t.Fatalf("world-writable directory: %q", warnings)
	}

	if os.Geteuid() != 0 {
		return // chown to another user needs root
	}
	warnings = nil
	other := t.TempDir()
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	d = localdir.New(other, localdir.Options{Warn: warn})
	d.Read(ctx, "a")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "belongs to another user (uid 65534)") {
		t.Fatalf("directory of another user: %q", warnings)
	}
}
