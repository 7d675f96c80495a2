package vault

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// checked opens the store afresh and checks it.
func checked(t *testing.T, m *memory.Store) (*Store, *Report) {
	t.Helper()
	s, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s, rep
}

func findingsOf(t *testing.T, m *memory.Store, kind FindingKind) []string {
	t.Helper()
	_, rep := checked(t, m)
	var out []string
	for _, f := range rep.Findings {
		if f.Kind == kind {
			out = append(out, f.Blob)
		}
	}
	slices.Sort(out)
	return out
}

// TestDeletedSeals: the sealed files a move leaves are what stops a client
// that opened the store before it (the reference in a web page, this
// engine in one) from writing where nobody reads. Deleted (they look like
// leftovers), they stop nothing: such a client finds no shard at all, takes
// the store for empty and writes a fresh tree into the old layout, and its
// write is acknowledged and lost (red team finding 4, item A). A client of
// this engine must refuse at the moment of the write: a missing shard is
// empty only while the config still names the layout the client routes by.
// The reference cannot be made to (it never reads the config again): fsck
// must report the missing seals (and --repair put them back) and the old
// layout's files that hold data again.
func TestDeletedSeals(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 20)
	old, err := Open(ctx, m, []byte("pass phrase"), Options{}) // opened before the move
	if err != nil {
		t.Fatal(err)
	}
	before := m.Blobs()
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 7}); err != nil {
		t.Fatal(err)
	}
	oldIDs := format.NewRouter(nil, 4).BlobIDs()
	for _, id := range oldIDs {
		m.Delete(id)
	}
	if got := findingsOf(t, m, FindMissingSeal); !slices.Equal(got, oldIDs) {
		t.Errorf("missing-seal findings %v, want %v", got, oldIDs)
	}

	// The write that was lost: it must be refused, and write nothing.
	err = old.NewTask(ctx).Set(ctx, "/late/doc", str("lost"))
	if !errors.Is(err, ErrMoved) || !strings.Contains(fmt.Sprint(err), "from 4 to 7 shards") {
		t.Fatalf("the old client's write where the sealed files were deleted: %v, want ErrMoved saying the store moved from 4 to 7 shards", err)
	}
	for _, id := range oldIDs {
		if _, ok := m.Blobs()[id]; ok {
			t.Errorf("the refused write created %s", id)
		}
	}
	checkContent(t, m, want, 7)

	// A client that does not read the config again (the reference) writes
	// there: fsck reports it.
	m.Set(oldIDs[1], before[oldIDs[1]])
	if got := findingsOf(t, m, FindLiveRetired); !slices.Equal(got, oldIDs[1:2]) {
		t.Errorf("live-retired findings %v, want %v", got, oldIDs[1:2])
	}

	// Repair puts the missing seals back; the old client is refused again.
	fresh, rep := checked(t, m)
	repaired := 0
	for _, r := range fresh.Repair(ctx, rep) {
		if r.Err != nil {
			t.Errorf("repair %s: %v", r.Finding, r.Err)
		}
		if r.Finding.Kind == FindMissingSeal {
			repaired++
		}
	}
	if repaired == 0 {
		t.Error("repair put back no seal")
	}
	if got := findingsOf(t, m, FindMissingSeal); len(got) != 0 {
		t.Errorf("after the repair, missing-seal findings %v", got)
	}
	if got := findingsOf(t, m, FindLiveRetired); len(got) == 0 {
		t.Error("after the repair, the file the old client wrote is no longer reported")
	}
	if err := old.NewTask(ctx).Set(ctx, "/later/doc", str("x")); !errors.Is(err, ErrMoved) {
		t.Errorf("the old client's write after the repair: %v, want ErrMoved", err)
	}
	checkContent(t, m, want, 7)
}

// TestMissingShardOfTheCurrentLayout: a shard the store never wrote (a
// store the reference created, which writes shards on first use) is empty,
// as before: the config read that tells it from a deleted seal names the
// client's own layout.
func TestMissingShardOfTheCurrentLayout(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	for _, id := range s.BlobIDs() {
		m.Delete(id) // as the reference leaves a new store: the config alone
	}
	task := s.NewTask(ctx)
	if err := task.Set(ctx, "/a/b", str("v")); err != nil {
		t.Fatal(err)
	}
	checkContent(t, m, map[string]string{"/a/b": `"v"`}, 4)
}

// TestDeletedSealsKeysOnly: a store opened with keys alone (the agent's,
// which keeps the keys and the shard count across commands) is refused the
// same way: the config it reads then names another shard count.
func TestDeletedSealsKeysOnly(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 20)
	old, err := OpenKeys(m, s.Keys(), 4, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 7}); err != nil {
		t.Fatal(err)
	}
	for _, id := range format.NewRouter(nil, 4).BlobIDs() {
		m.Delete(id)
	}
	if err := old.NewTask(ctx).Set(ctx, "/late/doc", str("lost")); !errors.Is(err, ErrMoved) || !strings.Contains(fmt.Sprint(err), "from 4 to 7 shards") {
		t.Fatalf("the keys-only client's write: %v, want ErrMoved saying the store moved from 4 to 7 shards", err)
	}
	checkContent(t, m, want, 7)
}
