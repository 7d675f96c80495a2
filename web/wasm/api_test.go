//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault"
)

// TestLockWipesKeys: lock zeroes the store's keys, but only once no call
// runs on it any more (a running call would otherwise encrypt with zeroed
// keys): the call started before the lock still writes, with the real keys.
func TestLockWipesKeys(t *testing.T) {
	ctx := context.Background()
	open := func(a *api) *vault.Store {
		t.Helper()
		s, err := vault.Create(ctx, memory.New(), []byte("pass"), vault.CreateOptions{Iterations: 1000})
		if err != nil {
			t.Fatal(err)
		}
		a.opened(s, "mem:x", memory.New())
		return s
	}
	zero := func(s *vault.Store) bool {
		k := s.Keys()
		return len(k.Cipher) > 0 && !bytes.ContainsFunc(k.Cipher, func(r rune) bool { return r != 0 }) &&
			!bytes.ContainsFunc(k.Router, func(r rune) bool { return r != 0 })
	}

	a := newAPI()
	s := open(a)
	a.lock()
	if !zero(s) {
		t.Error("lock with no call running left the keys")
	}

	s = open(a)
	started, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := a.task(func(ctx context.Context, tk *vault.Task) (any, error) {
			close(started)
			<-proceed
			return nil, tk.Set(ctx, "/a", []byte(`"v"`))
		})
		done <- err
	}()
	<-started
	a.lock()
	if zero(s) {
		t.Fatal("lock wiped the keys while a call ran on them")
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("the call running at the lock: %v", err)
	}
	if !zero(s) {
		t.Error("the keys were not wiped when the last call returned")
	}
	if _, err := a.task(func(context.Context, *vault.Task) (any, error) { return nil, nil }); err != errLocked {
		t.Errorf("a call after the lock: %v", err)
	}

	// Opening another store retires the first the same way.
	s = open(a)
	open(a)
	if !zero(s) {
		t.Error("the store replaced by another kept its keys")
	}
}
