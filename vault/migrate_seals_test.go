package vault

import (
	"errors"
	"slices"
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
// write is acknowledged and lost. fsck said nothing about either. It must
// report the missing seals (and --repair put them back) and the old
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

	// The write that is lost: acknowledged, in no shard the config names.
	if err := old.NewTask(ctx).Set(ctx, "/late/doc", str("lost")); err != nil {
		t.Fatalf("the old client's write: %v", err)
	}
	checkContent(t, m, want, 7)
	if got := findingsOf(t, m, FindLiveRetired); len(got) == 0 {
		t.Error("no live-retired finding for the old layout's files the old client wrote")
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
		t.Error("after the repair, the files the old client wrote are no longer reported")
	}
	if err := old.NewTask(ctx).Set(ctx, "/later/doc", str("x")); !errors.Is(err, ErrMoved) {
		t.Errorf("the old client's write after the repair: %v, want ErrMoved", err)
	}
	checkContent(t, m, want, 7)
}
