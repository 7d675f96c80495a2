package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

// writeMeter records the most bytes written at once. With pair set, a
// write waits (up to a second) for a second one to be in flight, so that
// writes sent together are seen together on a loaded machine.
type writeMeter struct {
	adapters.Adapter
	mu         sync.Mutex
	now, peak  int
	peakWrites int
	writes     int
	pair       bool
	second     chan struct{}
}

func (m *writeMeter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	m.mu.Lock()
	m.now += len(data)
	m.writes++
	m.peak, m.peakWrites = max(m.peak, m.now), max(m.peakWrites, m.writes)
	wait := m.pair && m.writes == 1
	if wait {
		m.second = make(chan struct{})
	} else if m.second != nil {
		close(m.second)
		m.second = nil
	}
	second := m.second
	m.mu.Unlock()
	if wait {
		select {
		case <-second:
		case <-time.After(time.Second):
		}
	}
	defer func() {
		m.mu.Lock()
		m.now -= len(data)
		m.writes--
		m.mu.Unlock()
	}()
	return m.Adapter.Write(ctx, id, data, rev)
}

// The shard writes in flight at once stay within writeBudget (or are one
// write), and every change lands. Not parallel: it sets writeBudget.
func TestWritesInFlightWithinBudget(t *testing.T) {
	old := writeBudget
	defer func() { writeBudget = old }()
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
	meter.pair = true
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
	if meter.peakWrites < 2 {
		t.Fatalf("without a budget the writes never overlapped (%d at once): the test proves nothing", meter.peakWrites)
	}
	// Every shard rewritten at once, under a budget of about two shards.
	meter.pair = false
	writeBudget = 90_000
	meter.peak, meter.peakWrites = 0, 0
	set(1)
	if meter.peak > writeBudget {
		t.Errorf("%d bytes of writes in flight at once (%d writes), budget %d", meter.peak, meter.peakWrites, writeBudget)
	}
	// A budget smaller than one shard still writes, one at a time.
	writeBudget = 1
	meter.peak, meter.peakWrites = 0, 0
	set(2)
	if meter.peakWrites != 1 {
		t.Errorf("%d writes at once under a budget smaller than a shard, want 1", meter.peakWrites)
	}
	vals, errs := s.NewTask(ctx).GetAll(ctx, paths)
	for i := range paths {
		if errs[i] != nil || string(vals[i]) != string(value(i, 2)) {
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
