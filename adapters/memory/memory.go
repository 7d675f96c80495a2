// Package memory implements an in-memory blob store for tests.
//
// It honours the compare-and-swap contract exactly as a real store does: a
// write with NoRev fails with ErrConflict when the blob exists, a write with
// a stale revision fails with ErrConflict and changes nothing, and every
// successful write yields a revision never seen before, even when the content
// is the same. Data is copied in and out, so neither the caller nor the store
// can change the other's bytes behind its back.
//
// Blobs, Set and Delete let tests inspect the store and plant content (for
// example a corrupted shard) without going through the CAS rules.
package memory

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Store)(nil)

// Store is an in-memory blob store. The zero value is not usable; call New.
type Store struct {
	mu    sync.Mutex
	blobs map[string]blob
	// seq numbers revisions across all blobs, so a blob that is deleted and
	// created again never gets back a revision a client may still hold.
	seq uint64
}

type blob struct {
	data []byte
	rev  adapters.Rev
}

// New returns an empty store.
func New() *Store {
	return &Store{blobs: make(map[string]blob)}
}

// Read implements adapters.Adapter.
func (s *Store) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := check(ctx, "read", id); err != nil {
		return nil, adapters.NoRev, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[id]
	if !ok {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrNotFound, nil)
	}
	return clone(b.data), b.rev, nil
}

// Write implements adapters.Adapter.
func (s *Store) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := check(ctx, "write", id); err != nil {
		return adapters.NoRev, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blobs[id].rev != rev {
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrConflict, nil)
	}
	return s.setLocked(id, data), nil
}

// Blobs returns a snapshot of every blob's content, keyed by id.
func (s *Store) Blobs() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string][]byte, len(s.blobs))
	for id, b := range s.blobs {
		m[id] = clone(b.data)
	}
	return m
}

// Set stores data as blob id regardless of its current revision, and returns
// the new revision. Clients holding the old revision will get a conflict, as
// if another client had written.
func (s *Store) Set(id string, data []byte) adapters.Rev {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setLocked(id, data)
}

// Delete removes blob id, if it exists.
func (s *Store) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blobs, id)
}

func (s *Store) setLocked(id string, data []byte) adapters.Rev {
	s.seq++
	rev := adapters.Rev("m" + strconv.FormatUint(s.seq, 10))
	s.blobs[id] = blob{data: clone(data), rev: rev}
	return rev
}

func check(ctx context.Context, op, id string) error {
	if err := ctx.Err(); err != nil {
		return adapters.NewError(op, id, nil, err)
	}
	if id == "" {
		return adapters.NewError(op, id, nil, errors.New("empty blob id"))
	}
	return nil
}

// clone returns a copy of b that is never nil, so an empty blob reads back as
// an empty, non-nil slice.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
