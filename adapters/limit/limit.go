// Package limit bounds how many writes a client has in flight on one blob
// store.
//
// Some stores serialise writes on their side and refuse the ones that
// overlap instead of queueing them: Dropbox takes a write lock per
// namespace (a user's Dropbox, or a shared folder) for every upload and
// answers an upload that cannot get it with too_many_write_operations. The
// engine sends the uploads of one pass together, one per shard, so without
// a bound a single client collides with itself. Such stores say how many
// writes they take at once (adapters.WriteLimiter); package stack then adds
// this layer below the retry layer, so a request waiting between attempts
// does not hold a slot, and above the latency layer, so a slot is held for
// as long as the store takes.
//
// Reads are not limited. Waiting for a slot honours the context.
package limit

import (
	"context"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Adapter)(nil)

// Adapter lets at most a fixed number of writes at a time reach an inner
// blob store; the others wait their turn.
type Adapter struct {
	inner adapters.Adapter
	slots chan struct{}
}

// New returns inner with at most writes concurrent writes (at least 1).
func New(inner adapters.Adapter, writes int) *Adapter {
	return &Adapter{inner: inner, slots: make(chan struct{}, max(writes, 1))}
}

// Read implements adapters.Adapter; reads are passed through.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	return a.inner.Read(ctx, id)
}

// Write implements adapters.Adapter: it waits for a free slot, then writes.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return adapters.NoRev, adapters.NewError("write", id, nil, ctx.Err())
	}
	defer func() { <-a.slots }()
	return a.inner.Write(ctx, id, data, rev)
}

// Unwrap returns the adapter below this layer (see adapters.List).
func (a *Adapter) Unwrap() adapters.Adapter { return a.inner }
