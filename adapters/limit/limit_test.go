package limit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/limit"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return limit.New(memory.New(), 1)
	})
}

// counting records how many writes and reads are in flight at once.
type counting struct {
	adapters.Adapter
	writes, reads, maxWrites, maxReads atomic.Int64
}

func (c *counting) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	n := c.writes.Add(1)
	defer c.writes.Add(-1)
	for m := c.maxWrites.Load(); n > m && !c.maxWrites.CompareAndSwap(m, n); m = c.maxWrites.Load() {
	}
	time.Sleep(5 * time.Millisecond)
	return c.Adapter.Write(ctx, id, data, rev)
}

func (c *counting) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	n := c.reads.Add(1)
	defer c.reads.Add(-1)
	for m := c.maxReads.Load(); n > m && !c.maxReads.CompareAndSwap(m, n); m = c.maxReads.Load() {
	}
	time.Sleep(5 * time.Millisecond)
	return c.Adapter.Read(ctx, id)
}

func TestBoundsWritesOnly(t *testing.T) {
	for _, n := range []int{1, 3} {
		inner := &counting{Adapter: memory.New()}
		a := limit.New(inner, n)
		var wg sync.WaitGroup
		for i := range 12 {
			id := string(rune('a' + i))
			wg.Go(func() {
				if _, err := a.Write(context.Background(), id, []byte("x"), adapters.NoRev); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() { a.Read(context.Background(), id) })
		}
		wg.Wait()
		if got := inner.maxWrites.Load(); got != int64(n) {
			t.Errorf("limit %d: %d writes at once", n, got)
		}
		if got := inner.maxReads.Load(); got < 2 {
			t.Errorf("limit %d: reads were serialised too (%d at once)", n, got)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	block := make(chan struct{})
	inner := blocking{Adapter: memory.New(), block: block}
	a := limit.New(inner, 1)
	go a.Write(context.Background(), "a", []byte("x"), adapters.NoRev)
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := a.Write(ctx, "b", []byte("x"), adapters.NoRev)
	close(block)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot past the deadline: %v", err)
	}
}

type blocking struct {
	adapters.Adapter
	block chan struct{}
}

func (b blocking) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	<-b.block
	return b.Adapter.Write(ctx, id, data, rev)
}
