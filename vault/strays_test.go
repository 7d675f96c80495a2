package vault

import (
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// TestStrayShardsLinear: every command on a local store lists its files
// and checks them against the layout. A store moved to many shards (reshard
// suggests up to 65,536) must not pay for the check with the square of its
// file count: with 1,024 shards the old check built the layout's 1,024 file
// names again for every file present, a million strings (seconds) per
// command, and 65,536 shards made every command hang. (Not parallel:
// AllocsPerRun counts the whole process's allocations.)
func TestStrayShardsLinear(t *testing.T) {
	const n = 1024
	m := memory.New()
	s := newStore(t, m, n)
	// The live files, a retired layout's sealed files (after a reshard
	// from 4 shards) and one stray.
	present := format.NewRouter(nil, n).BlobIDs()
	present = append(present, format.NewRouter(nil, 4).BlobIDs()...)
	present = append(present, "shard-0000-0000")
	var found []Finding
	allocs := testing.AllocsPerRun(3, func() {
		var err error
		if found, err = s.StrayShards(ctx, present); err != nil {
			t.Fatal(err)
		}
	})
	if len(found) != 5 {
		t.Fatalf("found %d strays, want the retired layout's 4 (not named in this config) and the planted one: %+v", len(found), found)
	}
	if limit := float64(20 * len(present)); allocs > limit {
		t.Fatalf("StrayShards over %d files made %.0f allocations, want at most %.0f (linear in the files)", len(present), allocs, limit)
	}
}
