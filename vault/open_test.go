package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
	"github.com/vaultdb/vaultdb/vault/format"
)

// Opening in two steps: Locate tells what is there before any key
// derivation; Unlock takes a passphrase (through a swappable KDF) or keys
// already unwrapped; OpenKeys skips the config read.
func TestLocateThenUnlock(t *testing.T) {
	t.Parallel()
	m := memory.New()
	if _, err := Locate(ctx, m, Options{}); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Locate on an empty location: %v", err)
	}
	kdfCalls := 0
	kdf := func(ctx context.Context, p []byte, kp format.KDFParams) ([]byte, error) {
		kdfCalls++
		return format.PBKDF2(ctx, p, kp)
	}
	s0, err := Create(ctx, m, []byte("pw"), CreateOptions{Options: Options{KDF: kdf}, Shards: 3, Iterations: testIterations})
	if err != nil || kdfCalls != 1 {
		t.Fatalf("Create: %v, %d KDF calls", err, kdfCalls)
	}
	if err := s0.NewTask(ctx).Update(ctx, "/a", func(json.RawMessage) (json.RawMessage, error) { return str("v"), nil }); err != nil {
		t.Fatal(err)
	}

	l, err := Locate(ctx, m, Options{KDF: kdf})
	if err != nil {
		t.Fatal(err)
	}
	if l.Version() != 1 || l.Shards() != 3 || l.KDFParams().Iterations != testIterations || len(l.ConfigID()) != 64 {
		t.Fatalf("located version %d, %d shards, %d iterations, id %q", l.Version(), l.Shards(), l.KDFParams().Iterations, l.ConfigID())
	}
	if kdfCalls != 1 {
		t.Fatal("Locate derived a key")
	}
	if _, err := l.Unlock(ctx, Passphrase([]byte("wrong"))); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	s, err := l.Unlock(ctx, Passphrase([]byte("pw")))
	if err != nil || kdfCalls != 3 {
		t.Fatalf("Unlock: %v, %d KDF calls", err, kdfCalls)
	}
	keys := s.Keys()

	// With the keys: no key derivation, and a read is one request.
	if _, err := l.Unlock(ctx, Keys(keys)); err != nil || kdfCalls != 3 {
		t.Fatalf("Unlock with keys: %v, %d KDF calls", err, kdfCalls)
	}
	var r recorder
	ks, err := OpenKeys(trace.New(m, r.add), keys, l.Shards(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ks.NewTask(ctx).Get(ctx, "/a")
	if err != nil || string(got) != `"v"` {
		t.Fatalf("get with keys alone: %q, %v", got, err)
	}
	if n := r.count("read"); n != 1 {
		t.Errorf("get with keys alone made %d reads, want 1", n)
	}
	if err := ks.ChangePassphrase(ctx, []byte("x"), 0); err == nil {
		t.Error("a store opened with keys alone changed its passphrase")
	}
	if _, err := OpenKeys(m, &format.Keys{Cipher: keys.Cipher}, 3, Options{}); err == nil {
		t.Error("OpenKeys took incomplete keys")
	}

	// A passphrase change keeps the keys but changes the config's identity.
	if err := s.ChangePassphrase(ctx, []byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	l2, err := Locate(ctx, m, Options{})
	if err != nil || l2.ConfigID() == l.ConfigID() {
		t.Fatalf("config id after passwd: %v, unchanged %v", err, l2.ConfigID() == l.ConfigID())
	}
	if _, err := l2.Unlock(ctx, Keys(keys)); err != nil {
		t.Fatal(err)
	}

	// Keys of another store do not read this one: the shard is reported
	// damaged, which tells a key cache to locate again.
	// Every shard of this store holds something, so that whichever shard
	// the other keys route /a to, it is read and fails to decrypt.
	for i := 0; !allBlobsExist(m, s.BlobIDs()); i++ {
		if err := s.NewTask(ctx).Set(ctx, fmt.Sprintf("/fill/%d", i), json.RawMessage(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	other := memory.New()
	o := newStore(t, other, 3)
	bad, _ := OpenKeys(m, o.Keys(), 3, Options{})
	if _, err := bad.NewTask(ctx).Get(ctx, "/a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("get with another store's keys: %v", err)
	}
}

func allBlobsExist(m *memory.Store, ids []string) bool {
	blobs := m.Blobs()
	for _, id := range ids {
		if _, ok := blobs[id]; !ok {
			return false
		}
	}
	return true
}

func TestTypedStoreErrors(t *testing.T) {
	t.Parallel()
	m := memory.New()
	if _, err := Create(ctx, m, nil, CreateOptions{Iterations: testIterations}); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("Create with no passphrase: %v", err)
	}
	s := newStore(t, m, 1)
	if err := s.ChangePassphrase(ctx, nil, 0); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("ChangePassphrase to nothing: %v", err)
	}
	s2, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.ChangePassphrase(ctx, []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassphrase(ctx, []byte("b"), 0); !errors.Is(err, ErrConfigChanged) {
		t.Fatalf("ChangePassphrase after another client's: %v", err)
	}
}
