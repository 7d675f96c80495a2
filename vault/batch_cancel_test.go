package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

// A stress of the parked batch (from a red-team pass): random batches with repeated paths,
// injected faults, another client writing the same shards and a random
// cancellation. Each update appends its index to the document's list, so
// updates compose: every call reported successful must be in its
// document's list, and no index may be there twice. Every index must be
// reported to done exactly once, with the error returned for it, and the
// batch must end (a hang fails the test after 10 s).
func TestBatchStress(t *testing.T) {
	// 100 batches in make test (about 10 s with -race);
	// VAULTDB_BATCH_STRESS=N runs N, VAULTDB_BATCH_SEED=S replays one.
	iters, first := 100, uint64(0)
	if v, err := strconv.Atoi(os.Getenv("VAULTDB_BATCH_STRESS")); err == nil {
		iters = v
	}
	if v, err := strconv.ParseUint(os.Getenv("VAULTDB_BATCH_SEED"), 10, 64); err == nil {
		iters, first = 1, v
	}
	for it := range iters {
		seed := first + uint64(it)
		batchStressOnce(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed (VAULTDB_BATCH_SEED=%d replays it)", seed, seed)
		}
	}
}

func batchStressOnce(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	m := memory.New()
	shards := 1 + r.IntN(4)
	newStore(t, m, shards)
	// Some documents exist already, so that updates compose with a value.
	n := 5 + r.IntN(40)
	distinct := 1 + r.IntN(n)
	all := make([]string, distinct)
	for k := range all {
		all[k] = fmt.Sprintf("/d%d/e%d", k%3, k)
	}
	paths := make([]string, n)
	for i := range paths {
		paths[i] = all[r.IntN(distinct)]
	}
	fopts := faulty.Options{Seed: seed}
	if r.IntN(2) == 0 {
		fopts.ReadError = 0.1
		fopts.WriteErrorBefore = 0.05
		fopts.WriteErrorAfter = 0.05
		fopts.WriteConflict = 0.1
	}
	fa := faulty.New(m, fopts)
	fa.SetEnabled(false)
	s, err := Open(ctx, fa, []byte("pass phrase"), Options{BatchWindow: 1 + r.IntN(8), BatchWaves: 1 + r.IntN(2), Backoff: -1})
	if err != nil {
		t.Fatal(err)
	}
	fa.SetEnabled(true)
	other, err := Open(ctx, m, []byte("pass phrase"), Options{Backoff: -1})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup
	stopOther := make(chan struct{})
	if r.IntN(2) == 0 {
		// Another client writes other documents on the same shards.
		bg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stopOther:
					return
				default:
				}
				_ = other.NewTask(ctx).Set(ctx, fmt.Sprintf("/d%d/o%d", k%3, k%7), str(fmt.Sprint(k)))
			}
		})
	}
	if r.IntN(3) == 0 {
		d := time.Duration(r.IntN(3000)) * time.Microsecond
		bg.Go(func() { time.Sleep(d); cancel() })
	}
	var mu sync.Mutex
	seen := map[int]error{}
	done := func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, twice := seen[i]; twice {
			t.Errorf("seed %d: index %d reported twice", seed, i)
		}
		seen[i] = err
	}
	task := s.NewTask(ctx)
	fin := make(chan []error)
	go func() {
		fin <- task.UpdateEach(cctx, paths, func(i int) UpdateFunc {
			return func(old json.RawMessage) (json.RawMessage, error) {
				var l []int
				if old != nil {
					if err := json.Unmarshal(old, &l); err != nil {
						return nil, err
					}
				}
				l = append(l, i)
				return json.Marshal(l)
			}
		}, done)
	}()
	var errs []error
	select {
	case errs = <-fin:
	case <-time.After(10 * time.Second):
		panic(fmt.Sprintf("seed %d: batch of %d calls did not end", seed, n))
	}
	close(stopOther)
	bg.Wait()
	// Writes in flight at a cancellation land.
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	for i := range paths {
		if got, ok := seen[i]; !ok || got != errs[i] {
			t.Errorf("seed %d: index %d reported %v (%v), returned %v", seed, i, got, ok, errs[i])
		}
	}
	mu.Unlock()
	d := decodeMem(t, m)
	if err := d.Invariant(); err != nil {
		t.Errorf("seed %d: %v", seed, err)
	}
	for i, p := range paths {
		var l []int
		if v, ok := d.Docs[p]; ok {
			if err := json.Unmarshal(v, &l); err != nil {
				t.Fatalf("seed %d: %s: %v", seed, p, err)
			}
		}
		c := 0
		for _, x := range l {
			if x == i {
				c++
			}
		}
		if c > 1 {
			t.Errorf("seed %d: %s lists index %d %d times: %v", seed, p, i, c, l)
		}
		if errs[i] == nil && !slices.Contains(l, i) {
			t.Errorf("seed %d: index %d reported written but %s is %v (lost update)", seed, i, p, l)
		}
	}
}

// A batch whose context is cancelled in the middle of a wave goes on
// planning every remaining call of the wave: the producer plans the
// wave's calls one after another in runWave without looking at the
// context, and the preloaded shards mean that prepare's load never waits
// (so never sees the cancellation either). Each remaining call runs its
// update function after the caller gave up; with the default waves of
// 8,192 to 16,384 calls, a Ctrl-C early in an import runs and plans
// thousands of update functions. TestBatchStopsWhenCancelled only covers
// waves of one (its check runs at wave boundaries).
func TestBatchStopsMidWave(t *testing.T) {
	const n = 200
	m := memory.New()
	newStore(t, m, 4)
	s, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/g%d/e%d", i%5, i)
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled atomic.Bool
	var late atomic.Int64
	errs := s.NewTask(ctx).UpdateAll(cctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) {
			if cancelled.Load() {
				late.Add(1)
			}
			if i == 10 {
				cancelled.Store(true)
				cancel()
			}
			return json.RawMessage(fmt.Sprint(i)), nil
		}
	})
	written := 0
	for _, err := range errs {
		if err == nil {
			written++
		}
	}
	if k := late.Load(); k > 0 {
		t.Errorf("%d update functions ran after the batch's context was cancelled (%d calls reported written)", k, written)
	}
}

// After a cancellation in the middle of a wave, the producer's deferred
// pump at the end of runWave may start the writes of the calls parked
// last, before the dispatcher has abandoned them: a name is then listed
// with no document behind it (what TestBatchStopsWhenCancelled's comment
// says the batch must not do). Counted over many runs.
func TestBatchNoWritesAfterMidWaveCancel(t *testing.T) {
	bad := 0
	for it := range 200 {
		m := memory.New()
		newStore(t, m, 4)
		s, err := Open(ctx, m, []byte("pass phrase"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		const n = 60
		paths := make([]string, n)
		for i := range paths {
			paths[i] = fmt.Sprintf("/g%d/e%d", i%5, i)
		}
		cctx, cancel := context.WithCancel(context.Background())
		task := s.NewTask(ctx)
		task.UpdateAll(cctx, paths, func(i int) UpdateFunc {
			return func(json.RawMessage) (json.RawMessage, error) {
				if i == n/2 {
					cancel()
				}
				return json.RawMessage(fmt.Sprint(i)), nil
			}
		})
		cancel()
		time.Sleep(time.Millisecond)
		if w := task.Stats().Writes; w > 0 {
			bad++
			if bad == 1 {
				d := decodeMem(t, m)
				t.Logf("run %d: %d writes after the cancellation; %d documents, directories %v", it, w, len(d.Docs), d.Dirs)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 200 batches cancelled mid-wave wrote to the store", bad)
	}
}
