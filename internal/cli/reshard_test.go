package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/vault"
)

// TestReshardHints: a store whose shard holds more than 2,000 items gets a
// note from ls on a terminal (never in a pipe), a suggestion from fsck and
// from reshard without a count; after the move, none.
func TestReshardHints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must("", "init", "--iterations", "1000", "--shards", "1")
	ctx := context.Background()
	s, err := vault.Open(ctx, localdir.New(e.dir, localdir.Options{}), []byte("pw"), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 2100)
	for i := range paths {
		paths[i] = fmt.Sprintf("/site%d/login", i)
	}
	for _, err := range s.NewTask(ctx).UpdateAll(ctx, paths, func(int) vault.UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`"x"`), nil }
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	const note = "note: a shard of this store holds 4201 items"
	if r := e.run(true, "", "ls", "site7/"); r.code != 0 || !strings.Contains(r.errOut, note) {
		t.Fatalf("ls on a terminal: %+v", r)
	}
	if r := e.run(false, "", "ls", "site7/"); r.code != 0 || r.errOut != "" {
		t.Fatalf("ls in a pipe: %+v", r)
	}
	if r := e.run(false, "", "fsck"); r.code != 0 || !strings.Contains(r.out, `suggestion: the shards hold about 4201 items each`) || !strings.Contains(r.out, `"vaultdb reshard 16"`) {
		t.Fatalf("fsck: %+v", r)
	}
	if r := e.run(false, "", "reshard"); r.code != 0 || r.out != "1 shard, 4201 items (entries and directories), about 4201 per shard\nsuggested: vaultdb reshard 16\n" {
		t.Fatalf("reshard: %+v", r)
	}
	expect(t, e.run(false, "", "reshard", "16"), 0, "", "Moved 4201 items of the store at "+e.dir+" from 1 to 16 shards")
	expect(t, e.run(false, "", "reshard", "16"), 2, "", "the store has 16 shards already")
	expect(t, e.run(false, "", "reshard", "--resume", "4"), 2, "", "--resume takes no shard count")
	expect(t, e.run(false, "", "reshard", "0"), 2, "", "the shard count must be a number")
	if r := e.run(true, "", "ls", "site7/"); r.code != 0 || r.errOut != "" || r.out != "login\n" {
		t.Fatalf("ls after the move: %+v", r)
	}
	if r := e.run(false, "", "reshard"); r.code != 0 || strings.Contains(r.out, "suggested") {
		t.Fatalf("reshard after the move: %+v", r)
	}
	expect(t, e.run(false, "", "reshard", "--resume"), 0, "", "Nothing to resume")
}

// TestMoveHintLayoutGone: a command whose store moved meanwhile, with the
// old layout's sealed files deleted, is told to run again and how to seal
// them again.
func TestMoveHintLayoutGone(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("failed to update /a: %w", &vault.LayoutGoneError{Blob: "shard-0000-3fff", Opened: 4, Now: 7})
	if h := (&Factory{}).moveHint(err); !strings.Contains(h, "run the command again") || !strings.Contains(h, `"vaultdb fsck --repair"`) {
		t.Fatalf("hint %q", h)
	}
}
