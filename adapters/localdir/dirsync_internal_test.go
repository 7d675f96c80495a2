package localdir

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

// TestDirSyncFailureReachesEveryWaiter: a write whose rename is covered
// first by a failed directory fsync must not be acknowledged because a
// later fsync succeeded. After a failed write-back Linux may have dropped
// the dirty metadata (a journal-less ext4 clears the buffer's up-to-date
// state) and reports the failure once, so the next fsync succeeds while the
// rename is lost. The old code returned the error of the last fsync
// finished, which a later caller's successful one could have replaced by
// the time a waiter of the failed one woke.
func TestDirSyncFailureReachesEveryWaiter(t *testing.T) {
	failed := errors.New("injected fsync failure")
	for range 200 {
		synctest.Test(t, func(t *testing.T) {
			first, second := make(chan error), make(chan error)
			var mu sync.Mutex
			calls := 0
			s := &dirSync{fsync: func(string) error {
				mu.Lock()
				calls++
				k := calls
				mu.Unlock()
				switch k {
				case 1:
					return <-first
				case 2:
					return <-second
				}
				return nil
			}}
			var wg sync.WaitGroup
			wg.Go(func() { s.after("dir") }) // runs fsync 1
			synctest.Wait()
			// Two writes renamed while fsync 1 runs: fsync 2 covers them.
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() { errs[i] = s.after("dir") })
			}
			synctest.Wait()
			first <- nil
			synctest.Wait() // one of them runs fsync 2, the other waits for it
			// A write renamed while fsync 2 runs needs fsync 3, which succeeds.
			var third error
			wg.Go(func() { third = s.after("dir") })
			synctest.Wait()
			second <- failed
			wg.Wait()
			for i, err := range errs {
				if !errors.Is(err, failed) {
					t.Fatalf("write %d, covered first by the failed fsync: %v, want its error", i, err)
				}
			}
			if third != nil {
				t.Fatalf("write covered by a successful fsync only: %v", third)
			}
		})
	}
}
