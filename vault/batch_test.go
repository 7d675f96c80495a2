package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters/latency"
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

// A batch's calls are planned together even when some of them reach the
// engine late (a busy machine starts goroutines late): the writes are those
// of one plan, at most one per shard and round, not one plan per straggler.
func TestBatchWaitsForEveryCall(t *testing.T) {
	paths := make([]string, 64)
	for i := range paths {
		paths[i] = fmt.Sprintf("/late/g%d/e%d", i%5, i)
	}
	const shards = 4
	run := func(delay time.Duration) Stats {
		s := newStore(t, memory.New(), shards)
		task := s.NewTask(ctx)
		errs := task.UpdateAll(ctx, paths, func(i int) UpdateFunc {
			if i%2 == 1 {
				time.Sleep(delay)
			}
			return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(fmt.Sprint(i)), nil }
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", paths[i], err)
			}
		}
		return task.Stats()
	}
	for _, delay := range []time.Duration{0, 30 * time.Millisecond} {
		// A new document here costs two rounds: the documents and their
		// directories' listings, then the links above them.
		if st := run(delay); st.D != 2 || st.Writes > shards*st.D {
			t.Errorf("calls delayed by %v: %d writes in %d rounds, want 2 rounds of at most %d writes", delay, st.Writes, st.D, shards)
		}
	}
}

// The waves of a long batch overlap: the next wave is planned while the
// previous one's writes are in flight and joins its later rounds, so each
// wave costs about one write per shard, not one per shard and level.
func TestBatchWavesOverlap(t *testing.T) {
	const shards, waves, window = 16, 8, 256
	m := memory.New()
	newStore(t, m, shards)
	paths := sitePaths(waves*window, 20)
	// In a bubble with latency on every request, as a real store has:
	// planning takes no time on the bubble's clock and a write does.
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(ctx, latency.New(m, latency.Options{Delay: slow}), []byte("pass phrase"), Options{BatchWindow: window, BatchWaves: 2})
		if err != nil {
			t.Fatal(err)
		}
		task := s.NewTask(ctx)
		for i, err := range task.UpdateAll(ctx, paths, func(i int) UpdateFunc {
			return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(fmt.Sprint(i)), nil }
		}) {
			if err != nil {
				t.Fatalf("%s: %v", paths[i], err)
			}
		}
		// A wave alone is two rounds (the new sites' listings, then the
		// logins), the first one more (the new groups); waves one after the
		// other wrote about 2 x 8 x 16 = 256 times. Overlapping, each wave
		// adds one round, plus the first wave's: a wave plans as soon as
		// the writes of the one before last have all started. (Waiting for
		// that wave's calls to end, as the batch did before, wrote 160 to
		// 192 times.)
		if st := task.Stats(); st.Writes > (waves+1)*shards {
			t.Errorf("%d waves into %d shards wrote %d times, want at most %d", waves, shards, st.Writes, (waves+1)*shards)
		}
	})
	d := decodeMem(t, m)
	if len(d.Docs) != len(paths) {
		t.Fatalf("%d documents, want %d", len(d.Docs), len(paths))
	}
	if err := d.Invariant(); err != nil {
		t.Fatal(err)
	}
}

// A batch whose caller gives up (Ctrl-C cancels the command's context)
// starts no more calls: the old code ran every later wave's update
// functions and plans after the cancellation, and the last call of each
// wave to plan sent its links before it was abandoned, leaving names
// listed with no document behind them. Every call is still reported to
// UpdateEach's done, the ones never started too.
func TestBatchStopsWhenCancelled(t *testing.T) {
	const shards, n = 4, 40
	m := memory.New()
	newStore(t, m, shards)
	paths := sitePaths(n, 5)
	synctest.Test(t, func(t *testing.T) {
		// Waves of one, with latency on every request: the cancellation
		// comes while the first waves' writes are in flight.
		s, err := Open(context.Background(), latency.New(m, latency.Options{Delay: slow}), []byte("pass phrase"), Options{BatchWindow: 1})
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(context.Background())
		var cancelled atomic.Bool
		var late atomic.Int64
		go func() {
			// Between two requests' ends, when every call is waiting:
			// at a request's end a wave may start at the same instant.
			time.Sleep(3*slow + slow/2)
			cancelled.Store(true)
			cancel()
		}()
		done, checkEnds := endsReported(t, paths)
		errs := s.NewTask(context.Background()).UpdateEach(cctx, paths, func(i int) UpdateFunc {
			return func(json.RawMessage) (json.RawMessage, error) {
				if cancelled.Load() {
					late.Add(1)
				}
				return json.RawMessage(fmt.Sprint(i)), nil
			}
		}, done)
		checkEnds(errs)
		if !errors.Is(errs[n-1], context.Canceled) {
			t.Errorf("the last call of a cancelled batch: %v, want context.Canceled", errs[n-1])
		}
		if k := late.Load(); k > 0 {
			t.Errorf("%d update functions ran after the batch's context was cancelled", k)
		}
		time.Sleep(10 * slow) // writes in flight at the cancellation land
	})
	if err := decodeMem(t, m).Invariant(); err != nil {
		t.Fatal(err)
	}
}

// UpdateEach reports every update's end once, with the error UpdateAll
// returns for it, also for a path it refuses before starting.
func TestUpdateEachReportsEveryEnd(t *testing.T) {
	s := newStore(t, memory.New(), 4)
	paths := []string{"/p/a", "/p/b", "bad//path", "/p/c"}
	done, checkEnds := endsReported(t, paths)
	errs := s.NewTask(ctx).UpdateEach(ctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`1`), nil }
	}, done)
	checkEnds(errs)
	if errs[2] == nil || errs[0] != nil {
		t.Errorf("errors %v", errs)
	}
}

// endsReported returns a done function for UpdateEach that records each
// end, and a check that every path was reported once, with the error
// UpdateEach returned for it.
func endsReported(t *testing.T, paths []string) (done func(int, error), check func([]error)) {
	var mu sync.Mutex
	seen := map[int]error{}
	done = func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, twice := seen[i]; twice {
			t.Errorf("%s reported twice", paths[i])
		}
		seen[i] = err
	}
	check = func(errs []error) {
		mu.Lock()
		defer mu.Unlock()
		for i := range paths {
			if got, ok := seen[i]; !ok || got != errs[i] {
				t.Errorf("%s: reported %v (%v), returned %v", paths[i], got, ok, errs[i])
			}
		}
	}
	return done, check
}

// A batch has one wave under way at a time by default, on few shards as on
// many. A wave is under way until its writes have all started, and its
// calls live until they land: at most two waves more than those under way
// are alive.
func TestBatchWavesDefault(t *testing.T) {
	for _, tc := range []struct{ shards, wantPeak int }{{4, 3 * 8}, {64, 3 * 8}} {
		m := memory.New()
		newStore(t, m, tc.shards)
		s, err := Open(ctx, m, []byte("pass phrase"), Options{BatchWindow: 8})
		if err != nil {
			t.Fatal(err)
		}
		paths := make([]string, 80)
		for i := range paths {
			paths[i] = fmt.Sprintf("/w/d%d/e%d", i%3, i)
		}
		var live, peak atomic.Int64
		s.NewTask(ctx).UpdateEach(ctx, paths, func(i int) UpdateFunc {
			for n, p := live.Add(1), peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			return func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`1`), nil }
		}, func(int, error) { live.Add(-1) })
		if p := peak.Load(); p > int64(tc.wantPeak) {
			t.Errorf("%d shards: %d calls in flight at once, want at most %d", tc.shards, p, tc.wantPeak)
		}
	}
}

// A batch's calls wait for their writes without a goroutine each: an
// import of 100,000 entries had 99,981 goroutines, and a wave of 4,096
// calls still had 4,096 (~8 KB of stack each), which kept waves small.
// The update functions run while the batch plans; the goroutines then
// alive are the task's reads and writes and the batch's dispatcher.
func TestBatchHasNoGoroutinePerCall(t *testing.T) {
	const shards, n = 16, 3000
	m := memory.New()
	newStore(t, m, shards)
	paths := sitePaths(n, 20)
	s, err := Open(ctx, latency.New(m, latency.Options{Delay: 5 * time.Millisecond}), []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	errs := s.NewTask(ctx).UpdateAll(ctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) {
			for g, p := int64(runtime.NumGoroutine()), peak.Load(); g > p && !peak.CompareAndSwap(p, g); p = peak.Load() {
			}
			return json.RawMessage(fmt.Sprint(i)), nil
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
	}
	if p := peak.Load() - int64(base); p > 4*shards {
		t.Errorf("%d calls: %d goroutines more than before the batch, want at most %d (reads, writes, the dispatcher)", n, p, 4*shards)
	}
	d := decodeMem(t, m)
	if len(d.Docs) != n {
		t.Fatalf("%d documents, want %d", len(d.Docs), n)
	}
}

// sitePaths is n logins spread over groups directories, one site each.
func sitePaths(n, groups int) []string {
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/g%02d/site%05d/login", i%groups, i)
	}
	return paths
}
