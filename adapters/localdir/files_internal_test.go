package localdir

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
)

// TestCurrentKnowsOwnWrite: after a write, the Dir knows the blob's
// revision without reading it, keeps the lock file open, and counts both
// files; a Dir with no room to keep files still writes.
func TestCurrentKnowsOwnWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := New(dir, Options{})
	rev, err := d.Write(ctx, "a", []byte("v1"), adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	b := d.files.get("a")
	if got, known := b.current(filepath.Join(dir, "a")); !known || got != rev {
		t.Errorf("current = %q, %v; want %q, true", got, known, rev)
	}
	if b.lockFile == nil || !b.lockKept || d.files.open != 2 {
		t.Errorf("lock file kept: %v, files kept open: %d; want the lock file and the blob", b.lockFile != nil, d.files.open)
	}
	if _, err := d.Write(ctx, "a", []byte("v2"), rev); err != nil {
		t.Fatal(err)
	}
	if d.files.open != 2 {
		t.Errorf("files kept open after a second write: %d, want 2", d.files.open)
	}

	n := New(t.TempDir(), Options{})
	n.files.limit = 0
	rev, err = n.Write(ctx, "a", []byte("v1"), adapters.NoRev)
	if err == nil {
		_, err = n.Write(ctx, "a", []byte("v2"), rev)
	}
	if err != nil {
		t.Fatal(err)
	}
	if b := n.files.get("a"); b.lockFile != nil || b.last != nil || n.files.open != 0 {
		t.Errorf("a Dir with no room kept files open: %d", n.files.open)
	}
	if _, err := n.Write(ctx, "a", []byte("v3"), rev); !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("stale write on a Dir with no room: %v, want a conflict", err)
	}
}

// TestDirSyncCoversEachCaller: every caller of after returns only once an
// fsync that started after its call has finished, however many call at
// once.
func TestDirSyncCoversEachCaller(t *testing.T) {
	var epoch atomic.Int64   // a caller's "rename"
	var covered atomic.Int64 // the epoch at the start of the last fsync finished
	var fsyncs atomic.Int64
	s := &dirSync{fsync: func(string) error {
		start := epoch.Load()
		fsyncs.Add(1)
		time.Sleep(100 * time.Microsecond)
		covered.Store(start)
		return nil
	}}
	var wg sync.WaitGroup
	const callers, calls = 16, 50
	for range callers {
		wg.Go(func() {
			for range calls {
				mine := epoch.Add(1)
				if err := s.after("dir"); err != nil {
					t.Error(err)
				}
				if c := covered.Load(); c < mine {
					t.Errorf("after returned when the last fsync finished started at epoch %d, before the caller's %d", c, mine)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d calls, %d fsyncs", callers*calls, fsyncs.Load())

	want := errors.New("fsync failed")
	s.fsync = func(string) error { return want }
	if err := s.after("dir"); err != want {
		t.Errorf("after with a failing fsync: %v", err)
	}
}
