package cli

import (
	"context"
	"slices"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/internal/location"
)

// unsorted is a store that lists its blobs in a fixed order that is not
// sorted, as a directory does.
type unsorted struct {
	adapters.Adapter
	ids []string
}

func (u unsorted) List(context.Context) ([]string, error) { return slices.Clone(u.ids), nil }

// The shard files named in stray-shard and leftover messages come in one
// order, whatever order the store lists them in.
func TestListShardsSorted(t *testing.T) {
	a := unsorted{memory.New(), []string{"shard-0003-0007", "config", "shard-0000-0007", "shard-0001-0002", "notes.txt", "shard-0001-0000"}}
	ids, ok, err := listShards(context.Background(), location.Location{}, a)
	if err != nil || !ok {
		t.Fatalf("listShards: %v %v", ok, err)
	}
	want := []string{"shard-0000-0007", "shard-0001-0000", "shard-0001-0002", "shard-0003-0007"}
	if !slices.Equal(ids, want) {
		t.Fatalf("listShards = %v, want %v", ids, want)
	}
	if got := idList(ids); got != "shard-0000-0007, shard-0001-0000, shard-0001-0002 and 1 more" {
		t.Fatalf("idList = %q", got)
	}
}
