package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// fill writes n documents spread over a few directory levels.
func fill(t *testing.T, s *Store, n int) map[string]string {
	t.Helper()
	task := s.NewTask(ctx)
	want := map[string]string{}
	var paths []string
	var values []json.RawMessage
	for i := range n {
		p := fmt.Sprintf("/site%d/user%d/password", i%17, i)
		v := fmt.Sprintf(`"secret-%d"`, i)
		want[p] = v
		paths = append(paths, p)
		values = append(values, json.RawMessage(v))
	}
	errs := task.UpdateAll(ctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) { return values[i], nil }
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// checkContent opens the store afresh and checks that it holds exactly
// want, by the engine and by the independent decoder.
func checkContent(t *testing.T, m *memory.Store, want map[string]string, shards int) {
	t.Helper()
	s, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Shards() != shards {
		t.Fatalf("store has %d shards, want %d", s.Shards(), shards)
	}
	task := s.NewTask(ctx)
	for p, v := range want {
		got, err := task.Get(ctx, p)
		if err != nil || string(got) != v {
			t.Fatalf("get %s = %s, %v; want %s", p, got, err, v)
		}
	}
	dec := decodeMem(t, m)
	if err := dec.Invariant(); err != nil {
		t.Fatal(err)
	}
	if len(dec.Docs) != len(want) {
		t.Fatalf("decoder finds %d documents, want %d", len(dec.Docs), len(want))
	}
}

func TestMigrateMovesEveryEntry(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 300)
	before := s.NewTask(ctx) // a client of the old layout
	if _, err := before.Get(ctx, "/site1/user1/password"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Migrate(ctx, MigrateOptions{Shards: 16})
	if err != nil {
		t.Fatal(err)
	}
	dirs := 1 + 17 + 300 // root, sites, users
	if res.From != 4 || res.To != 16 || res.Items != 300+dirs || res.Unrouted != 0 || res.Rotated {
		t.Fatalf("result %+v", res)
	}
	checkContent(t, m, want, 16)

	// The old layout's files stay as emptied seals, named in the config.
	blobs := m.Blobs()
	for _, id := range format.NewRouter(nil, 4).BlobIDs() {
		seal, frozen, err := format.ParseSealed(id, blobs[id])
		if err != nil || seal == nil || seal.ID != res.ID || seal.To != 16 || frozen != nil {
			t.Fatalf("%s: seal %+v, frozen %d bytes, %v", id, seal, len(frozen), err)
		}
	}
	cfg, err := format.ParseConfig(blobs[ConfigBlob])
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Retired(); len(r) != 1 || r[0] != (format.Retired{N: 4, ID: res.ID}) {
		t.Fatalf("retired %+v", r)
	}

	// The old client fails with ErrMoved, reading and writing, and writes
	// nothing.
	if err := before.Set(ctx, "/late", str("x")); !errors.Is(err, ErrMoved) {
		t.Fatalf("write through the old layout: %v, want ErrMoved", err)
	}
	if _, err := s.NewTask(ctx).Get(ctx, "/site2/user2/password"); !errors.Is(err, ErrMoved) {
		t.Fatalf("read through the old layout: %v, want ErrMoved", err)
	}
	checkContent(t, m, want, 16)
}

func TestMigrateRotatesKeys(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 50)
	res, err := s.Migrate(ctx, MigrateOptions{Shards: 5, RotateKeys: true, Passphrase: []byte("pass phrase")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rotated {
		t.Fatal("not rotated")
	}
	checkContent(t, m, want, 5)
	s2, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s2.Keys().Cipher) == string(s.Keys().Cipher) || string(s2.Keys().Router) == string(s.Keys().Router) {
		t.Fatal("keys did not change")
	}
	// The old keys (which an old config, from a backup or a file history,
	// gives with the passphrase) open none of what the store holds now: the
	// old layout is emptied seals, and the new shards do not decrypt.
	for id, data := range m.Blobs() {
		if !strings.HasPrefix(id, "shard-") {
			continue
		}
		if seal, frozen, _ := format.ParseSealed(id, data); seal != nil {
			if frozen != nil {
				t.Fatalf("%s still holds frozen data", id)
			}
			continue
		}
		if _, err := format.ParseShard(id, data, s.Keys().Cipher); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s with the old keys: %v, want ErrCorrupt", id, err)
		}
	}
	if err := s.ChangePassphrase(ctx, []byte("other"), 0); !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("passwd through a store opened before the rotation: %v", err)
	}
}

func TestMigrateRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to int }{{4, 4}, {4, 0}, {4, 65537}, {65535, 65536}} {
		if err := CheckLayout(tc.from, tc.to); err == nil {
			t.Errorf("CheckLayout(%d, %d) = nil", tc.from, tc.to)
		}
	}
	for _, tc := range []struct{ from, to int }{{4, 8}, {4, 5}, {1, 2}, {256, 4}} {
		if err := CheckLayout(tc.from, tc.to); err != nil {
			t.Errorf("CheckLayout(%d, %d) = %v", tc.from, tc.to, err)
		}
	}
	m := memory.New()
	s := newStore(t, m, 4)
	fill(t, s, 10)
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 8, RotateKeys: true}); err == nil {
		t.Error("rotation without the passphrase accepted")
	}
	// A damaged shard stops the migration before anything is sealed.
	id := s.BlobIDs()[2]
	good := m.Blobs()[id]
	m.Set(id, []byte(`{"version":1,"tag":"AAAAAAAAAAA="}`+"\nAAAA"))
	before := m.Blobs()
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 8}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("migrate with a damaged shard: %v", err)
	}
	if after := m.Blobs(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a refused migration changed the store")
	}
	m.Set(id, good)
}

// crashAfter lets n writes through, then fails every request, like a
// process killed at that point.
type crashAfter struct {
	adapters.Adapter
	mu     sync.Mutex
	writes int
	dead   bool
}

var errKilled = fmt.Errorf("killed: %w", adapters.ErrUnauthorized)

func (c *crashAfter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return nil, "", errKilled
	}
	return c.Adapter.Read(ctx, id)
}

func (c *crashAfter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	c.mu.Lock()
	if c.writes <= 0 || c.dead {
		c.dead = true
		c.mu.Unlock()
		return "", errKilled
	}
	c.writes--
	c.mu.Unlock()
	return c.Adapter.Write(ctx, id, data, rev)
}

// TestMigrateCrashAtEveryWrite kills a migration after each of its writes
// and checks that the store then either still works in the old layout or
// reports the migration, and that a resume by another client finishes it
// with every entry in place.
func TestMigrateCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for _, rotate := range []bool{false, true} {
		for k := 0; ; k++ {
			m := memory.New()
			s := newStore(t, m, 4)
			want := fill(t, s, 40)
			c := &crashAfter{Adapter: m, writes: k}
			dying, err := Open(ctx, c, []byte("pass phrase"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = dying.Migrate(ctx, MigrateOptions{Shards: 7, RotateKeys: rotate, Passphrase: []byte("pass phrase")})
			if err == nil {
				if k < 4+1 {
					t.Fatalf("migration finished with %d writes", k)
				}
				checkContent(t, m, want, 7)
				break // every crash point is covered
			}
			fresh, err := Open(ctx, m, []byte("pass phrase"), Options{})
			if err != nil {
				t.Fatalf("k=%d: open after the crash: %v", k, err)
			}
			_, getErr := fresh.NewTask(ctx).Get(ctx, "/site3/user3/password")
			switch {
			case k == 0 && getErr != nil:
				t.Fatalf("k=0: nothing was sealed, but get fails: %v", getErr)
			case getErr != nil && !errors.Is(getErr, ErrMoved):
				t.Fatalf("k=%d: get after the crash: %v", k, getErr)
			}
			res, err := fresh.ResumeMigration(ctx, []byte("pass phrase"))
			if err != nil {
				t.Fatalf("k=%d: resume: %v", k, err)
			}
			shards := 7
			if k == 0 {
				shards = 4
				if res != nil {
					t.Fatalf("k=0: resume found something to do: %+v", res)
				}
			}
			checkContent(t, m, want, shards)
			for id, data := range m.Blobs() {
				if seal, frozen, _ := format.ParseSealed(id, data); seal != nil && frozen != nil {
					t.Fatalf("k=%d: %s still holds frozen data after the resume", k, id)
				}
			}
		}
	}
}

func TestMigrateWhileAnotherHoldsTheStore(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 20)
	dying, _ := Open(ctx, &crashAfter{Adapter: m, writes: 2}, []byte("pass phrase"), Options{})
	if _, err := dying.Migrate(ctx, MigrateOptions{Shards: 8}); err == nil {
		t.Fatal("the crashing migration finished")
	}
	before := m.Blobs()
	_, err := s.Migrate(ctx, MigrateOptions{Shards: 16})
	var me *MigratingError
	if !errors.As(err, &me) || me.Seal.To != 8 {
		t.Fatalf("second migration: %v, want a MigratingError naming 8 shards", err)
	}
	if fmt.Sprint(m.Blobs()) != fmt.Sprint(before) {
		t.Fatal("the refused migration changed the store")
	}
	if _, err := s.ResumeMigration(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkContent(t, m, want, 8)
}

// TestMigrateRefusesMisplacedItems: an item in a shard its path does not
// route to (only a tampered or altered store has one) may be wanted back,
// and a move would leave it behind in a seal; the move does not start.
func TestMigrateRefusesMisplacedItems(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	fill(t, s, 10)
	p := "/stray/doc"
	wrong := (s.router.ShardOf(p) + 1) % 4
	id := s.BlobIDs()[wrong]
	sh, err := format.ParseShard(id, m.Blobs()[id], s.keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	sh = sh.Clone()
	sh.Set(p, str("lost?"))
	data, err := sh.Encode(nil, s.keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	m.Set(id, data)
	before := fmt.Sprint(m.Blobs())
	if _, err := s.Migrate(ctx, MigrateOptions{Shards: 8}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "wrong-shard") {
		t.Fatalf("migrate: %v", err)
	}
	if fmt.Sprint(m.Blobs()) != before {
		t.Fatal("the refused migration changed the store")
	}
}

// TestRotationKeysNotUnderOldKeys: the new keys a rotation records in its
// claim (for a resume) are under a key derived from the passphrase, not
// under the old cipher key: whoever holds the old keys and a copy of the
// claim from the rotation's window (a file history) gets nothing.
func TestRotationKeysNotUnderOldKeys(t *testing.T) {
	t.Parallel()
	m := memory.New()
	s := newStore(t, m, 4)
	want := fill(t, s, 10)
	oldKeys, claim := s.Keys(), s.BlobIDs()[0]
	dying, _ := Open(ctx, &crashAfter{Adapter: m, writes: 1}, []byte("pass phrase"), Options{})
	if _, err := dying.Migrate(ctx, MigrateOptions{Shards: 5, RotateKeys: true, Passphrase: []byte("pass phrase")}); err == nil {
		t.Fatal("the crashing rotation finished")
	}
	copyOfClaim := m.Blobs()[claim]
	seal, _, err := format.ParseSealed(claim, copyOfClaim)
	if err != nil || seal == nil || seal.Keys == "" {
		t.Fatalf("claim: %+v, %v", seal, err)
	}
	if _, err := format.OpenSealKeys(oldKeys.Cipher, seal.Keys); err == nil {
		t.Fatal("the old cipher key opens the rotation's new keys")
	}
	fresh, _ := Open(ctx, m, []byte("pass phrase"), Options{})
	if _, err := fresh.ResumeMigration(ctx, []byte("wrong")); err == nil {
		t.Fatal("a resume with another passphrase opened the new keys")
	}
	if _, err := fresh.ResumeMigration(ctx, []byte("pass phrase")); err != nil {
		t.Fatal(err)
	}
	checkContent(t, m, want, 5)
}
