package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
)

// lockModel is the fake's model of Dropbox's per-namespace write lock used
// by these tests: every content request takes 50 ms, an upload holds the
// lock for as long, and an upload that does not get the lock within 100 ms
// (two uploads ahead of it) is refused with too_many_write_operations,
// alternately in the 429 and the 409 form.
var lockModel = dropboxtest.Namespace{Latency: 50 * time.Millisecond, LockWait: 100 * time.Millisecond}

// TestDropboxWriteLockImport imports a batch into a store of 16 shards:
// one task whose pass sends an upload per shard. Against the write lock it
// must neither fail nor collide with itself: before, the uploads of the
// pass were refused but one, came back together, and the import gave up
// (exit 7).
func TestDropboxWriteLockImport(t *testing.T) {
	t.Parallel() // mostly waiting
	const n = 60
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "16")
	d.fake.SetNamespace(lockModel)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"g%d/site%d/password": "p%d",`, i%10, i, i)
	}
	start := time.Now()
	r := d.run("{"+strings.TrimSuffix(b.String(), ",")+"}", nil, "import")
	d.fake.SetNamespace(dropboxtest.Namespace{})
	st := d.fake.Stats()
	t.Logf("%s: requests %v, lock refusals 429/409 %d/%d, most uploads at once %d",
		time.Since(start).Round(time.Millisecond), st.Requests, st.LockRefused429, st.LockRefused409, st.MaxUploads)
	check(t, r, 0, "", fmt.Sprintf("%d added", n))
	if st.LockRefused429+st.LockRefused409 != 0 || st.MaxUploads != 1 {
		t.Errorf("one client collided with itself: %d refusals, %d uploads at once", st.LockRefused429+st.LockRefused409, st.MaxUploads)
	}
	if got := strings.Count(d.must("", "ls", "-r"), "\n"); got != n {
		t.Errorf("ls -r lists %d entries, want %d", got, n)
	}
}
