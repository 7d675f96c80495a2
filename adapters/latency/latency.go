// Package latency makes a blob store slow, to simulate a remote store with a
// local or in-memory one.
//
// Every request waits a fixed delay plus a uniformly random jitter before it
// reaches the inner store. The wait honours the context: a request cancelled
// while waiting returns the context's error and never reaches the store. The
// jitter comes from a seeded generator, so a run can be repeated exactly.
package latency

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Adapter)(nil)

// Options configures the delay.
type Options struct {
	// Delay is added to every request.
	Delay time.Duration
	// Jitter, if positive, adds a uniformly random duration in [0, Jitter].
	Jitter time.Duration
	// Seed seeds the jitter.
	Seed uint64
	// Sleep waits for d or until ctx is done, returning ctx.Err() in the
	// latter case. Nil means a real timer; tests may substitute their own.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Adapter delays every request to an inner blob store.
type Adapter struct {
	inner adapters.Adapter
	opts  Options

	mu  sync.Mutex
	rnd *rand.Rand
}

// New returns inner wrapped so that every request is delayed as opts says.
func New(inner adapters.Adapter, opts Options) *Adapter {
	if opts.Sleep == nil {
		opts.Sleep = Sleep
	}
	return &Adapter{
		inner: inner,
		opts:  opts,
		rnd:   rand.New(rand.NewPCG(opts.Seed, 0)),
	}
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := a.wait(ctx); err != nil {
		return nil, adapters.NoRev, adapters.NewError("read", id, nil, err)
	}
	return a.inner.Read(ctx, id)
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := a.wait(ctx); err != nil {
		return adapters.NoRev, adapters.NewError("write", id, nil, err)
	}
	return a.inner.Write(ctx, id, data, rev)
}

func (a *Adapter) wait(ctx context.Context) error {
	d := a.opts.Delay
	if a.opts.Jitter > 0 {
		a.mu.Lock()
		d += time.Duration(a.rnd.Uint64N(uint64(a.opts.Jitter) + 1))
		a.mu.Unlock()
	}
	if d <= 0 {
		return ctx.Err()
	}
	return a.opts.Sleep(ctx, d)
}

// Sleep waits for d or until ctx is done, whichever comes first, and returns
// ctx.Err() in the latter case.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Unwrap returns the adapter below this layer (see adapters.List).
func (a *Adapter) Unwrap() adapters.Adapter { return a.inner }
