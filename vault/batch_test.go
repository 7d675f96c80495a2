package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
)

// A batch larger than Window runs with at most Window calls in flight, and
// every entry lands.
func TestBatchBoundsCallsInFlight(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 4)
	task := s.NewTask(ctx)
	n := Window + 7 // two waves
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/batch/g%d/e%d", i%13, i)
	}
	var inFlight, peak atomic.Int64
	base := runtime.NumGoroutine()
	errs := task.UpdateAll(ctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) {
			now := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			if g := runtime.NumGoroutine() - base; g > 2*Window+64 {
				return nil, fmt.Errorf("%d goroutines for a batch of %d", g, n)
			}
			return json.RawMessage(fmt.Sprint(i)), nil
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
	}
	if p := peak.Load(); p > Window {
		t.Errorf("%d update functions ran at once, want <= %d", p, Window)
	}
	d := decodeMem(t, m)
	if len(d.Docs) != n {
		t.Fatalf("%d documents, want %d", len(d.Docs), n)
	}
	if err := d.Invariant(); err != nil {
		t.Fatal(err)
	}

	vals, gerrs := s.NewTask(ctx).GetAll(ctx, paths)
	for i := range paths {
		if gerrs[i] != nil || string(vals[i]) != fmt.Sprint(i) {
			t.Fatalf("%s: %s %v", paths[i], vals[i], gerrs[i])
		}
	}
	rerrs := s.NewTask(ctx).RemoveAll(ctx, paths)
	for i, err := range rerrs {
		if err != nil {
			t.Fatalf("remove %s: %v", paths[i], err)
		}
	}
	if _, err := s.NewTask(ctx).Get(ctx, paths[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after RemoveAll: %v", err)
	}
	d = decodeMem(t, m)
	if len(d.Docs) != 0 || len(d.Dirs) > 1 {
		t.Fatalf("after RemoveAll: %d documents, directories %v", len(d.Docs), d.Dirs)
	}
}
