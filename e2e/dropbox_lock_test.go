package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
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

// TestDropboxWriteLockClients runs four vaultdb processes at once on one
// store of 16 shards in a fake Dropbox that models the write lock, each
// setting entries one by one, in directories of its own and shared ones. No
// command may fail. Before the store bounded its writes in flight and
// jittered its waits on top of Retry-After, the refused uploads of all
// processes came back together after exactly Retry-After, collided again,
// and commands gave up with exit 7.
func TestDropboxWriteLockClients(t *testing.T) {
	t.Parallel() // mostly waiting
	const clients, sets = 4, 4
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "16")
	d.fake.SetNamespace(lockModel)
	start := time.Now()

	var mu sync.Mutex
	failed, ran := 0, 0
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
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

	for c := range clients {
		for i := range sets {
			check(t, d.run("", nil, "get", entry(c, i)), 0, fmt.Sprintf("pw-%d-%d\n", c, i), "")
		}
	}
	if n := strings.Count(d.must("", "ls", "-r"), "\n"); n != clients*sets {
		t.Errorf("ls -r lists %d entries, want %d", n, clients*sets)
	}
}

// entry is the i-th entry client c sets: half in a directory of its own,
// half in directories all clients add to at the same moment.
func entry(c, i int) string {
	if i%2 == 1 {
		return fmt.Sprintf("shared/site%d/c%d", i, c)
	}
	return fmt.Sprintf("c%d/site%d/password", c, i)
}

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

// TestDropboxLostResponses: uploads that land but whose responses are cut
// off are retried, and the retries conflict with the uploads themselves.
// Before, init then said "store already exists" (exit 5) about the store it
// had just written, and passwd said "nothing was written" after writing the
// new wrapping.
func TestDropboxLostResponses(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	drops := func(n int) {
		for range n {
			d.fake.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Upload, Kind: dropboxtest.Drop})
		}
	}
	drops(3)
	check(t, d.run("", nil, "init", "--iterations", "1000", "--shards", "2"), 0, "", "")
	if n := d.fake.PendingFaults(); n != 0 {
		t.Fatalf("%d dropped responses did not happen", n)
	}
	d.must("s3cret", "set", "x")

	drops(1)
	r := d.run("", nil, "passwd", "--new-passphrase-file", writeTemp(t, "new passphrase\n"))
	check(t, r, 0, "", "")
	if strings.Contains(r.errOut, "nothing was written") || d.fake.PendingFaults() != 0 {
		t.Errorf("passwd after a lost response: %q, %d faults pending", r.errOut, d.fake.PendingFaults())
	}
	check(t, d.run("", []string{"VAULTDB_PASSPHRASE=new passphrase"}, "get", "x"), 0, "s3cret\n", "")
}

// TestInitHelpDropboxFolder: the help of init must not offer the Dropbox
// desktop folder as a store without saying what it lacks.
func TestInitHelpDropboxFolder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	r := s.run("", nil, "init", "--help")
	for _, want := range []string{"dropbox:/vault", "~/Dropbox/vault", "compare-and-swap", "one machine"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("init --help lacks %q:\n%s", want, r.out)
		}
	}
}

// TestDropboxLogoutExpiredToken: logout with an access token Dropbox
// considers expired refreshes it and revokes; "revoked" is printed only
// then. Before, the 401 counted as revoked, the token file was deleted, and
// the refresh token in it stayed valid.
func TestDropboxLogoutExpiredToken(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "1")
	saved, err := os.ReadFile(d.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	d.fake.ExpireAccessTokens()
	check(t, d.run("", nil, "logout", "dropbox"), 0, "", "revoked the sign-in")
	// A copy of the file no longer works: the refresh token was revoked.
	os.WriteFile(d.tokenFile, saved, 0o600)
	check(t, d.run("", nil, "ls"), 6, "", "")
	// Logging out with that copy: nothing left to revoke, and it says so.
	r := d.run("", nil, "logout", "dropbox")
	check(t, r, 0, "", "nothing to revoke")
	if strings.Contains(r.errOut, "revoked the sign-in") {
		t.Errorf("logout of a dead sign-in claims to have revoked it: %q", r.errOut)
	}
	// An app key Dropbox refuses: not revoked, and the output says the
	// sign-in stays valid.
	d.mustLogin()
	tf := d.token()
	data, _ := os.ReadFile(d.tokenFile)
	os.WriteFile(d.tokenFile, []byte(strings.Replace(string(data), `"app_key": "`+tf.AppKey+`"`, `"app_key": "another-app"`, 1)), 0o600)
	d.fake.ExpireAccessTokens()
	r = d.run("", nil, "logout", "dropbox")
	if r.code != 0 || !strings.Contains(r.errOut, "not revoked") || !strings.Contains(r.errOut, "stays valid") || strings.Contains(r.errOut, "revoked the sign-in") {
		t.Errorf("logout with a refused app key: %d %q", r.code, r.errOut)
	}
}
