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
