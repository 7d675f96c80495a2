package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
)

// TestDropboxWriteLockClients runs four vaultdb processes at once on one
// store of 16 shards in a fake Dropbox that models the per-namespace write
// lock (an upload that overlaps another is refused with
// too_many_write_operations, alternately as 429 and 409) with latency.
// Each process imports a batch (one pass that sends an upload per shard at
// once), then sets entries one by one, in directories of its own and
// shared ones. No command may fail: before the store bounded
// its writes in flight and jittered its waits on top of Retry-After, the
// processes retried in lock-step and gave up with exit 7.
func TestDropboxWriteLockClients(t *testing.T) {
	t.Parallel() // mostly waiting out Retry-After
	const clients, sets, batch = 4, 6, 12
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "16")
	d.fake.SetNamespace(dropboxtest.Namespace{Latency: 20 * time.Millisecond})
	start := time.Now()

	var mu sync.Mutex
	failed, ran := 0, 0
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			// An import sends one pass's uploads together, one per shard.
			var b strings.Builder
			for i := range batch {
				fmt.Fprintf(&b, `"c%d/batch/e%d": "v%d",`, c, i, i)
			}
			r := d.run("{"+strings.TrimSuffix(b.String(), ",")+"}", nil, "import")
			mu.Lock()
			ran++
			if r.code != 0 {
				failed++
				t.Errorf("client %d: vaultdb import: exit %d: %s", c, r.code, r.errOut)
			}
			mu.Unlock()
			for i := range sets {
				args := []string{"set", entry(c, i)}
				r := d.run(fmt.Sprintf("pw-%d-%d", c, i), nil, args...)
				mu.Lock()
				ran++
				if r.code != 0 {
					failed++
					t.Errorf("client %d: vaultdb %s: exit %d: %s", c, strings.Join(args, " "), r.code, r.errOut)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	d.fake.SetNamespace(dropboxtest.Namespace{})
	st := d.fake.Stats()
	t.Logf("%s: %d of %d commands failed; requests %v, lock refusals 429/409 %d/%d, most uploads at once %d",
		time.Since(start).Round(time.Millisecond), failed, ran, st.Requests, st.LockRefused429, st.LockRefused409, st.MaxUploads)

	// Every entry is there.
	for c := range clients {
		for i := range sets {
			check(t, d.run("", nil, "get", entry(c, i)), 0, fmt.Sprintf("pw-%d-%d\n", c, i), "")
		}
	}
	out := d.must("", "ls", "-r")
	if n := strings.Count(out, "\n"); n != clients*(sets+batch) {
		t.Errorf("ls -r lists %d entries, want %d", n, clients*(sets+batch))
	}
}

// entry is the i-th entry client c sets: half in a directory of its own,
// half in directories all clients share.
func entry(c, i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("c%d/site%d/password", c, i)
	}
	return fmt.Sprintf("shared/site%d/c%d", i, c)
}
