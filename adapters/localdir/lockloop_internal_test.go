package localdir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
)

// A lock file that another program replaces every time this process locks
// it ends the write at the lock timeout, with an error naming the file and
// what to do; before, lock looped for ever.
func TestLockReplacedForeverEnds(t *testing.T) {
	dir := t.TempDir()
	d := New(dir, Options{LockTimeout: 100 * time.Millisecond})
	if _, err := d.Write(context.Background(), "blob", []byte("v1"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
	rev := revOf([]byte("v1"))
	d = New(dir, Options{LockTimeout: 100 * time.Millisecond}) // opens the lock file anew
	lockPath := filepath.Join(dir, ".lock-blob")
	var replaced atomic.Int64
	// Replace the lock file each time lock has opened it: the name then
	// always names another file than the one locked.
	replace := func() {
		tmp := lockPath + ".new"
		if err := os.WriteFile(tmp, nil, 0o600); err != nil {
			t.Error(err)
			return
		}
		if err := os.Rename(tmp, lockPath); err != nil {
			t.Error(err)
		}
		replaced.Add(1)
	}
	afterOpenLock = replace
	t.Cleanup(func() { afterOpenLock = nil })
	done := make(chan error, 1)
	go func() {
		_, err := d.Write(context.Background(), "blob", []byte("v2"), rev)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, adapters.ErrTransient) || !strings.Contains(err.Error(), lockPath) || !strings.Contains(err.Error(), "replacing or deleting it") {
			t.Fatalf("write under a lock file replaced for ever: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the write still runs 10 s after its 100 ms lock timeout (%d replacements)", replaced.Load())
	}
	if n := replaced.Load(); n < 2 {
		t.Fatalf("%d replacements: the test did not keep the lock file replaced", n)
	}
}
