package vault

import (
	"context"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// killedAtSwitch lets every request through but the config's write, and
// fails everything after it: a migration killed just before its switch.
type killedAtSwitch struct {
	crashAfter
}

func (k *killedAtSwitch) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if id == ConfigBlob {
		k.mu.Lock()
		k.dead = true
		k.mu.Unlock()
	}
	k.mu.Lock()
	dead := k.dead
	k.mu.Unlock()
	if dead {
		return "", errKilled
	}
	return k.Adapter.Write(ctx, id, data, rev)
}

// TestResumeKeepsAStaleTargetClientsWrites (red team item B): a client
// opened the store when it had 4 shards (a web page left open); the store
// moved to 7, and a move back to 4 wrote the 4-shard files and was killed
// before its switch. Those files are live for the old client, which
// creates a document in one and removes one from another: both
// acknowledged. The resume stopped with "exists and is not part of this
// reshard: move it away and resume", and following that advice lost both
// writes. The resume must keep them.
func TestResumeKeepsAStaleTargetClientsWrites(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 20)
	stale, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 7}); err != nil {
		t.Fatal(err)
	}
	dying, err := Open(ctx, &killedAtSwitch{crashAfter{Adapter: m}}, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.Migrate(ctx, MigrateOptions{Shards: 4}); err == nil {
		t.Fatal("the migration killed at its switch succeeded")
	}

	task := stale.NewTask(ctx)
	if err := task.Set(ctx, "/late/doc", str("kept")); err != nil {
		t.Fatalf("the old client's write into the new files: %v", err)
	}
	want["/late/doc"] = `"kept"`
	for p := range want {
		if strings.HasPrefix(p, "/site3/") {
			if err := task.Remove(ctx, p); err != nil {
				t.Fatalf("the old client's remove: %v", err)
			}
			delete(want, p)
			break
		}
	}

	// fsck meanwhile: the 4-shard files are the migration's, with the old
	// client's writes, not a left layout's files to seal again (a repair
	// that sealed them made the resume write over them).
	fsck, rep := checked(t, m)
	for _, f := range rep.Findings {
		if f.Kind == FindLiveRetired || f.Kind == FindMissingSeal {
			t.Errorf("fsck during the move back: %s", f)
		}
	}
	fsck.Repair(ctx, rep)

	fresh, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.ResumeMigration(ctx, nil); err != nil {
		t.Errorf("resume: %v", err)
		// Follow the advice, as a user would, to show what it costs.
		for moved := 0; err != nil && moved < 4; moved++ {
			for _, id := range format.NewRouter(nil, 4).BlobIDs() {
				if strings.Contains(err.Error(), "file "+id+" ") {
					m.Delete(id)
				}
			}
			_, err = fresh.ResumeMigration(ctx, nil)
		}
	}
	checkContent(t, m, want, 4)
}

// TestMoveBackSealsMissingFiles: the files of a layout the store left are
// sealed, so that a client still routing by it is refused; deleted (they
// look like leftovers), a move back to that layout left them absent while
// it ran, and a client of that layout that does not read the config again
// (the reference in a web page) created them, live, with none of the
// migration's items. A move back seals them again before it seals its
// claim: from then on every file of the new layout exists.
func TestMoveBackSealsMissingFiles(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 20)
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 7}); err != nil {
		t.Fatal(err)
	}
	four := format.NewRouter(nil, 4).BlobIDs()
	for _, id := range four {
		m.Delete(id)
	}
	// Killed as soon as its claim is sealed (4 seals again, then the claim).
	dying, err := Open(ctx, &crashAfter{Adapter: m, writes: len(four) + 1}, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.Migrate(ctx, MigrateOptions{Shards: 4}); err == nil {
		t.Fatal("the killed migration succeeded")
	}
	claim := format.NewRouter(nil, 7).BlobIDs()[0]
	if seal, _, _ := format.ParseSealed(claim, m.Blobs()[claim]); seal == nil {
		t.Fatal("the claim is not sealed: the test's write count is off")
	}
	for _, id := range four {
		data, ok := m.Blobs()[id]
		seal, _, err := format.ParseSealed(id, data)
		if !ok || err != nil || seal == nil {
			t.Errorf("%s, a file of the layout moved back to, is not sealed when the claim is (present %v, %v)", id, ok, err)
		}
	}
	fresh, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.ResumeMigration(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkContent(t, m, want, 4)
}
