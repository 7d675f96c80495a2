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
