package dropbox_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/vault"
)

// TestRandomConcurrentClients runs several engine clients, each with its own
// adapter (and token) on one fake Dropbox that injects 429s, 5xx, 409
// too_many_write_operations, dropped responses and token expiry, doing
// random set/remove/prune tasks on shared directories; then checks with a
// fresh client that every document is reachable (its ancestors exist and
// list it) and holds an allowed value.
func TestRandomConcurrentClients(t *testing.T) {
	for _, tc := range []struct {
		clients, shards int
		seed            uint64
	}{{2, 1, 1}, {3, 3, 2}, {3, 4, 3}} {
		t.Run(fmt.Sprintf("%dclients-%dshards", tc.clients, tc.shards), func(t *testing.T) {
			runClients(t, clientsRun{clients: tc.clients, shards: tc.shards, tasks: 20, seed: tc.seed, faults: true, backoff: time.Millisecond})
		})
	}
}

// TestRandomClientsWriteLock runs the random clients against the fake's
// model of Dropbox's namespace write lock, with latency: four clients on a
// store of 16 shards, whose tasks send several uploads at once. Each client
// is built as the command line builds it (the adapter making single
// attempts, composed with a retry layer by package stack), with real waits.
// No operation may fail: the store must absorb the lock's refusals. Before
// the store bounded its writes in flight and jittered its waits on top of
// Retry-After, operations gave up after five attempts.
//
// The clients share directories on purpose, so they also race each other's
// compare-and-swaps on the same shards; the engine's defaults are used.
func TestRandomClientsWriteLock(t *testing.T) {
	t.Parallel() // mostly waiting out Retry-After
	runClients(t, clientsRun{clients: 4, shards: 16, tasks: 5, seed: 4, strict: true,
		ns: dropboxtest.Namespace{Latency: 20 * time.Millisecond, LockWait: 40 * time.Millisecond}})
}

type clientsRun struct {
	clients, shards, tasks int
	seed                   uint64
	// faults turns on the fake's random faults; then transient failures
	// and too many conflicts are expected outcomes.
	faults bool
	// ns, if set, turns on the write-lock model, and the clients use the
	// stack with real waits.
	ns dropboxtest.Namespace
	// strict makes every failed operation an error of the test.
	strict bool
	// width is how many directories a client's documents are spread over,
	// and at most how many operations one task runs at once; default 4.
	width int
	// backoff is the engine's back-off between re-plans after a conflict;
	// 0 means the engine's default. maxConflicts likewise.
	backoff      time.Duration
	maxConflicts int
}

// stackClient returns a client adapter built as the command line builds
// one: the adapter in the stack with the default retry policy (real waits).
func stackClient(t *testing.T, srv *dropboxtest.Server, root string) adapters.Adapter {
	return stack.Build(newEnvOn(t, srv, root).raw, stack.Options{Retry: &retry.Options{}})
}

func runClients(t *testing.T, run clientsRun) {
	const root = "/Apps/VaultDB Tresor"
	srv := dropboxtest.NewServer(t)
	start := time.Now()
	res := adaptertest.RunClients(t, adaptertest.Clients{
		Client: func(t *testing.T, c int) adapters.Adapter {
			if c >= 0 && run.ns != (dropboxtest.Namespace{}) {
				return stackClient(t, srv, root)
			}
			return newEnvOn(t, srv, root).a
		},
		Blobs: func(*testing.T) map[string][]byte {
			blobs := map[string][]byte{}
			// The fake keys its files by lower-case path; blob names are
			// lower case.
			dir := strings.ToLower(root) + "/"
			for name, b := range srv.Files() {
				if rest, ok := strings.CutPrefix(name, dir); ok && !strings.Contains(rest, "/") {
					blobs[rest] = b
				}
			}
			return blobs
		},
		Clients: run.clients, Shards: run.shards, Tasks: run.tasks, Seed: run.seed, Width: run.width,
		Options: vault.Options{Backoff: run.backoff, MaxConflicts: run.maxConflicts},
		Expected: func(err error) bool {
			return !run.strict && (errors.Is(err, adapters.ErrTransient) || errors.Is(err, vault.ErrTooManyConflicts))
		},
		Start: func() {
			if run.faults {
				srv.SetRandomFaults(dropboxtest.RandomFaults{Seed: run.seed, RateLimit: 0.06, ServerError: 0.04,
					TooManyWriteOps: 0.06, Drop: 0.04, ExpireToken: 0.02})
			}
			srv.SetNamespace(run.ns)
		},
		Stop: func() {
			srv.SetRandomFaults(dropboxtest.RandomFaults{})
			srv.SetNamespace(dropboxtest.Namespace{})
		},
	})
	st := srv.Stats()
	if run.faults && st.Faults == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%s: requests %v, faults %d, conflicts %d, refreshes %d, lock refusals 429/409 %d/%d, most uploads at once %d, operations %d, failed %d",
		time.Since(start).Round(time.Millisecond), st.Requests, st.Faults, st.Conflicts, st.Refreshes,
		st.LockRefused429, st.LockRefused409, st.MaxUploads, res.Operations, res.Failed)
}
