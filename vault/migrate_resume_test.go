package vault

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// TestResumeChecksTheSealedLayout: a resume takes the new shard count from
// the claim's seal, which is store content like any other. A seal naming a
// count whose files are those of the current layout (tampered, or written
// by another program) made the resume seal every shard before failing on
// the first new file, leaving all of them sealed; it must refuse before
// writing anything.
func TestResumeChecksTheSealedLayout(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	fill(t, s, 10)
	claim := s.BlobIDs()[0]
	seal, err := format.NewSeal(nil, 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := format.EncodeSeal(nil, seal, m.Blobs()[claim])
	if err != nil {
		t.Fatal(err)
	}
	m.Set(claim, sealed)
	before := fmt.Sprint(m.Blobs())
	if _, err := s.ResumeMigration(ctx, nil); err == nil || !strings.Contains(err.Error(), claim) {
		t.Fatalf("resume of a seal naming the current layout: %v, want an error naming %s", err, claim)
	}
	if fmt.Sprint(m.Blobs()) != before {
		t.Fatal("the refused resume changed the store")
	}
}

// TestMigrateRefusesALiveFileInTheNewLayout: a live shard file where the
// new layout goes (written by a client of that layout after its seal was
// deleted, or copied in) stopped the migration only at step 3, with every
// shard sealed: a store no command could use until someone moved the file
// away. It must be refused before anything is sealed.
func TestMigrateRefusesALiveFileInTheNewLayout(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	fill(t, s, 10)
	other := memory.New()
	fill(t, newStore(t, other, 7), 10)
	planted := format.NewRouter(nil, 7).BlobIDs()[3]
	m.Set(planted, other.Blobs()[planted])
	before := fmt.Sprint(m.Blobs())
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 7}); err == nil || !strings.Contains(err.Error(), planted) {
		t.Fatalf("migrate onto a live file: %v, want an error naming %s", err, planted)
	}
	if fmt.Sprint(m.Blobs()) != before {
		t.Fatal("the refused migration changed the store")
	}
}
