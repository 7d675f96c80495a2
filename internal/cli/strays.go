package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/location/dir"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// listShards lists the shard files of the store behind a, sorted, where
// the store can list its blobs (a local directory, a remoteStorage or
// Dropbox folder); ok is false elsewhere. A store lists in its own order
// (a directory's, which differs between copies of one store), and the
// messages naming these files should not.
func listShards(ctx context.Context, loc location.Location, a adapters.Adapter) (ids []string, ok bool, err error) {
	all, ok, err := adapters.List(ctx, a)
	if err != nil {
		return nil, true, fmt.Errorf("cannot list the store at %s: %w", loc, err)
	}
	for _, id := range all {
		if vault.IsShardID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, ok, nil
}

// strayShards returns the findings for shard files at loc that the opened
// store's config does not name (nil where the store cannot be listed).
func strayShards(ctx context.Context, loc location.Location, s *vault.Store) ([]vault.Finding, error) {
	ids, _, err := listShards(ctx, loc, s.Adapter())
	if err != nil {
		return nil, err
	}
	return s.StrayShards(ctx, ids)
}

// refuseStrayShards fails when shard files the config does not name sit
// beside it: an altered shards.n would otherwise show an empty store and
// let writes start a second set of shards. fsck reports them instead.
//
// Only a local directory is listed on every open: elsewhere a listing is
// one more request (a round trip) per command, so there fsck alone looks.
func refuseStrayShards(ctx context.Context, loc location.Location, s *vault.Store) error {
	if loc.Scheme != dir.Scheme {
		return nil
	}
	found, err := strayShards(ctx, loc, s)
	if err != nil || len(found) == 0 {
		return err
	}
	return fmt.Errorf("the store at %s holds shard files its config does not name (%s; the config names %d shards): the config's shard count was altered, or the files are left from another store, so entries would seem missing; nothing was changed (see \"vaultdb fsck\")",
		loc, blobList(found), s.Shards())
}

func blobList(found []vault.Finding) string {
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.Blob
	}
	return idList(ids)
}

// idList names the first few blob ids of a list.
func idList(ids []string) string {
	if len(ids) > 3 {
		return strings.Join(ids[:3], ", ") + fmt.Sprintf(" and %d more", len(ids)-3)
	}
	return strings.Join(ids, ", ")
}

// leftoverShards returns the shard files already at a location that has
// no config, where init is about to create a store of n shards: listed
// where the store can list, else those of the new store's own shard names
// that exist.
func leftoverShards(ctx context.Context, loc location.Location, a adapters.Adapter, n int) ([]string, error) {
	ids, ok, err := listShards(ctx, loc, a)
	if err != nil || ok {
		return ids, err
	}
	for _, id := range format.NewRouter(make([]byte, 64), n).BlobIDs() {
		switch _, _, err := a.Read(ctx, id); {
		case err == nil:
			ids = append(ids, id)
		case !errors.Is(err, adapters.ErrNotFound):
			return nil, fmt.Errorf("cannot read %s: %w", loc, err)
		}
	}
	return ids, nil
}
