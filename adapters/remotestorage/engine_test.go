package remotestorage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/vault"
)

// clientOn returns a new adapter (a client of its own) on st's folder, in
// the stack with a retry layer, as the command line composes it.
func clientOn(t *testing.T, st *rstest.Store) adapters.Adapter {
	t.Helper()
	a, err := remotestorage.New(st.Options())
	if err != nil {
		t.Fatal(err)
	}
	return stack.Build(a, stack.Options{Retry: &retry.Options{InitialBackoff: 5 * time.Millisecond}})
}

// TestEngineRandomClients runs the multi-client engine suite
// (adaptertest.RunClients) on one folder of each real server, each client
// with an adapter of its own.
func TestEngineRandomClients(t *testing.T) {
	t.Parallel() // each run has a folder of its own
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				clients, shards int
				seed            uint64
			}{{3, 1, 1}, {3, 3, 2}} {
				t.Run(fmt.Sprintf("%dclients-%dshards", tc.clients, tc.shards), func(t *testing.T) {
					st := rstest.Get(t, k).NewStore(t, "")
					adaptertest.RunClients(t, adaptertest.Clients{
						Client:  func(t *testing.T, _ int) adapters.Adapter { return clientOn(t, st) },
						Clients: tc.clients, Shards: tc.shards, Tasks: 12, Seed: tc.seed,
						Options: vault.Options{Backoff: time.Millisecond},
					})
				})
			}
		})
	}
}

// TestEngineReadsRacingWrites: through the engine, on armadietto, no read
// of an existing entry racing writes of its shard says "no such entry" or
// "damaged" (make bench measures the same without the torn-read check).
func TestEngineReadsRacingWrites(t *testing.T) {
	t.Parallel()
	st := rstest.Get(t, rstest.Armadietto).NewStore(t, "")
	res, err := rstest.ReadsRacingWrites(ctx, func() (adapters.Adapter, error) { return clientOn(t, st), nil }, 2000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("armadietto: %v", res)
	if res.Writes == 0 {
		t.Fatal("no write completed while the reads ran")
	}
	if res.Bad() > 0 {
		t.Fatalf("%v; first: %v", res, res.FirstErr)
	}
}
