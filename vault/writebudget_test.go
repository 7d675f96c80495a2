package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

// writeMeter records the most writes in flight at once, and the most bytes
// in flight while more than one write is: the budget bounds what writes
// add to one another, and a lone write of a shard larger than the budget
// starts anyway. Every write takes a millisecond on the clock of the
// synctest bubble the test runs in, and that clock moves only when every
// goroutine waits: the writes the engine sends together are all in flight
// together, however the machine schedules them.
type writeMeter struct {
	adapters.Adapter
	mu         sync.Mutex
	now        int
	peakShared int // bytes in flight while 2 or more writes are
	peakWrites int
	writes     int
}

func (m *writeMeter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	m.mu.Lock()
	m.now += len(data)
	m.writes++
	m.peakWrites = max(m.peakWrites, m.writes)
	if m.writes > 1 {
		m.peakShared = max(m.peakShared, m.now)
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.now -= len(data)
		m.writes--
		m.mu.Unlock()
	}()
	time.Sleep(time.Millisecond)
	return m.Adapter.Write(ctx, id, data, rev)
}

// reset starts a new measurement.
func (m *writeMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.peakShared, m.peakWrites = 0, 0
}

func (m *writeMeter) peaks() (shared, writes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peakShared, m.peakWrites
}

// The shard writes in flight at once stay within writeBudget (or are one
// write), and every change lands. Not parallel: it sets writeBudget.
//
// The router's key is random, so the shards' sizes differ from run to run:
// about one store in 70 has a shard over the 90,000-byte budget below (3
// of 200 stores; one of 93,521 bytes failed an older form of this test,
// which counted every byte in flight, though it was written alone as the
// budget allows). Only bytes in flight beside another write count.
func TestWritesInFlightWithinBudget(t *testing.T) {
	old := writeBudget
	defer func() { writeBudget = old }()
	synctest.Test(t, testWritesInFlightWithinBudget)
}

func testWritesInFlightWithinBudget(t *testing.T) {
	meter := &writeMeter{Adapter: memory.New()}
	s := newStore(t, meter, 8)
	value := func(i, round int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("%d/%d ", i, round)+strings.Repeat("x", 4000)))
	}
	paths := make([]string, 64)
	for i := range paths {
		paths[i] = fmt.Sprintf("/d%d/e%d", i%5, i)
	}
	// A store of 8 shards of about 40 KB each, written with no budget.
	writeBudget = 1 << 30
	meter.reset()
	set := func(round int) {
		t.Helper()
		errs := s.NewTask(ctx).UpdateAll(ctx, paths, func(i int) UpdateFunc {
			return func(json.RawMessage) (json.RawMessage, error) { return value(i, round), nil }
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
	}
	set(0)
	if shared, writes := meter.peaks(); writes < 2 || shared <= 90_000 {
		t.Fatalf("without a budget at most %d writes of %d bytes were in flight at once: the test proves nothing", writes, shared)
	}
	// Every shard rewritten at once, under a budget of about two shards.
	writeBudget = 90_000
	meter.reset()
	set(1)
	if shared, writes := meter.peaks(); shared > writeBudget {
		t.Errorf("%d bytes of writes in flight beside one another (at most %d writes at once), budget %d", shared, writes, writeBudget)
	}
	// A budget just below the largest shard: that shard is written, alone
	// (the case of one store in 70 above, made certain).
	largest := 0
	for _, b := range meter.Adapter.(*memory.Store).Blobs() {
		largest = max(largest, len(b))
	}
	writeBudget = largest - 1
	meter.reset()
	set(2)
	if shared, writes := meter.peaks(); shared > writeBudget {
		t.Errorf("%d bytes of writes in flight beside one another (at most %d writes at once), budget %d", shared, writes, writeBudget)
	}
	// A budget smaller than one shard still writes, one at a time.
	writeBudget = 1
	meter.reset()
	set(3)
	if _, writes := meter.peaks(); writes != 1 {
		t.Errorf("%d writes at once under a budget smaller than a shard, want 1", writes)
	}
	// A single call is not held back: its round's writes go together.
	meter.reset()
	deep := "/n1/n2/n3/n4/n5/n6/n7/n8/doc"
	if err := s.NewTask(ctx).Set(ctx, deep, value(0, 4)); err != nil {
		t.Fatal(err)
	}
	if _, writes := meter.peaks(); writes < 2 {
		t.Errorf("a single set of a new document 8 directories deep wrote one shard at a time under the budget")
	}
	meter.reset()
	vals, errs := s.NewTask(ctx).GetAll(ctx, paths)
	for i := range paths {
		if errs[i] != nil || string(vals[i]) != string(value(i, 3)) {
			t.Fatalf("%s: %.20s %v", paths[i], vals[i], errs[i])
		}
	}
	if err := decodeMem(t, meter.Adapter.(*memory.Store)).Invariant(); err != nil {
		t.Fatal(err)
	}
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
