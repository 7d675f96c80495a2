package vault

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

// gate holds every read until opened, so that a test can issue many calls
// and know they are all waiting before any read returns: batching is then
// deterministic instead of a race against the scheduler.
type gate struct {
	adapters.Adapter
	open chan struct{}
	once sync.Once
}

func newGate(a adapters.Adapter) *gate { return &gate{Adapter: a, open: make(chan struct{})} }

func (g *gate) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	return g.Adapter.Read(ctx, id)
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// waitPreparing waits until n write calls of the task are loading.
func waitPreparing(t *testing.T, task *Task, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for task.Stats().Preparing < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d calls started", task.Stats().Preparing, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// slow is the latency every request gets in these tests: rounds are read
// off request timing (see package trace), so requests issued together must
// overlap. Every test runs in a synctest bubble, where time is the bubble's
// fake clock and advances only when every goroutine is blocked: requests
// issued together overlap exactly and the round counts do not depend on
// how busy the machine is.
const slow = 15 * time.Millisecond

// traced opens the store on m again, through a latency wrapper and a trace
// recorder, and returns the store and the recorder, reset after the open.
func traced(t *testing.T, m adapters.Adapter, _ *Store) (*Store, *recorder) {
	t.Helper()
	r := &recorder{}
	ta := trace.New(latency.New(m, latency.Options{Delay: slow}), r.add)
	s2, err := Open(ctx, ta, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.reset()
	ta.ResetRounds()
	return s2, r
}

func maxRound(r *recorder, op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	max := 0
	for _, e := range r.events {
		if e.Op == op && e.Round > max {
			max = e.Round
		}
	}
	return max
}

func minRound(r *recorder, op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	min := 0
	for _, e := range r.events {
		if e.Op == op && (min == 0 || e.Round < min) {
			min = e.Round
		}
	}
	return min
}

// Spec §6 worked figure: update('/doc') in a fresh one-shard store is one
// config read, one shard read and one write.
func TestRoundsUpdateDocOneShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		newStore(t, m, 1)
		s, r := traced(t, m, nil)
		if err := s.NewTask(ctx).Set(ctx, "/doc", str("v")); err != nil {
			t.Fatal(err)
		}
		if reads, writes := r.count("read"), r.count("write"); reads != 1 || writes != 1 {
			t.Fatalf("reads=%d writes=%d, want 1 shard read and 1 write", reads, writes)
		}
	})
}

// With the document and its directory on different shards it is two
// writes in sequence: link, then put.
func TestRoundsDocAndDirOnDifferentShards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		s0 := newStore(t, m, 2)
		doc := pathOn(s0, "/", 1-s0.router.ShardOf("/"))
		s, r := traced(t, m, s0)
		r.reset()
		task := s.NewTask(ctx)
		if err := task.Set(ctx, doc, str("v")); err != nil {
			t.Fatal(err)
		}
		if writes := r.count("write"); writes != 2 {
			t.Fatalf("writes=%d, want 2", writes)
		}
		if rounds := maxRound(r, "write") - minRound(r, "write") + 1; rounds != 2 {
			t.Fatalf("write rounds=%d, want 2 in sequence", rounds)
		}
		if st := task.Stats(); st.N != 2 || st.D != 2 {
			t.Fatalf("N=%d D=%d, want 2 2", st.N, st.D)
		}
	})
}

// Get on an opened store is one shard read.
func TestRoundsGetIsOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		s0 := newStore(t, m, 4)
		if err := s0.NewTask(ctx).Set(ctx, "/a/b", str("v")); err != nil {
			t.Fatal(err)
		}
		s, r := traced(t, m, s0)
		r.reset()
		if _, err := s.NewTask(ctx).Get(ctx, "/a/b"); err != nil {
			t.Fatal(err)
		}
		if n := r.count("read"); n != 1 || r.count("write") != 0 {
			t.Fatalf("reads=%d, want 1", n)
		}
	})
}

// A new document /a/b/c: one parallel round of reads, then the writes.
// Into existing directories that is at most two write rounds (link, put).
// A new document is linked on every edge above it in one round, then put
// (docs/architecture.md): at most 1 read round + 2 write rounds, however
// many directories are new.
func TestRoundsNewDeepDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for shards := 1; shards <= 8; shards++ {
			m := memory.New()
			s0 := newStore(t, m, shards)
			s, r := traced(t, m, s0)
			if err := s.NewTask(ctx).Set(ctx, "/a/b/c", str("v")); err != nil {
				t.Fatal(err)
			}
			if maxRound(r, "read") != 1 {
				t.Fatalf("%d shards: reads in %d rounds", shards, maxRound(r, "read"))
			}
			if w := maxRound(r, "write"); w > 1+2 {
				t.Fatalf("%d shards: new directories: writes end in round %d, want <= 1 read + 2 write rounds", shards, w)
			}
			// Now the directories exist: a new document in /a/b/ is a link and
			// a put.
			s, r = traced(t, m, s0)
			if err := s.NewTask(ctx).Set(ctx, "/a/b/d", str("v")); err != nil {
				t.Fatal(err)
			}
			if w := maxRound(r, "write"); w > 1+2 {
				t.Fatalf("%d shards: existing directories: writes end in round %d, want <= 1 read + 2 write rounds", shards, w)
			}
		}
	})
}

// Two updates whose dependencies cross between two shards: four writes in
// two rounds, planned together in one task.
func TestRoundsCrossedDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		s0 := newStore(t, m, 2)
		// Directories /d0/ on shard 0 and /d1/ on shard 1, already listed in /.
		var d0, d1 string
		for i := 0; d0 == "" || d1 == ""; i++ {
			d := fmt.Sprintf("/dir%d/", i)
			if s0.router.ShardOf(d) == 0 && d0 == "" {
				d0 = d
			} else if s0.router.ShardOf(d) == 1 && d1 == "" {
				d1 = d
			}
		}
		task := s0.NewTask(ctx)
		for _, d := range []string{d0, d1} {
			if err := task.Set(ctx, d+"seed", str("x")); err != nil {
				t.Fatal(err)
			}
		}
		x := pathOn(s0, d0, 1, d0+"seed") // link on shard 0, put on shard 1
		y := pathOn(s0, d1, 0, d1+"seed") // link on shard 1, put on shard 0

		g := newGate(m)
		r := &recorder{}
		s, err := Open(ctx, m, []byte("pass phrase"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.a = trace.New(latency.New(g, latency.Options{Delay: slow}), r.add)
		task = s.NewTask(ctx)
		var wg sync.WaitGroup
		for _, p := range []string{x, y} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := task.Set(ctx, p, str("v")); err != nil {
					t.Error(err)
				}
			}()
		}
		waitPreparing(t, task, 2)
		g.release()
		wg.Wait()
		if w := r.count("write"); w != 4 {
			t.Fatalf("writes=%d, want 4", w)
		}
		if rounds := maxRound(r, "write") - minRound(r, "write") + 1; rounds != 2 {
			t.Fatalf("write rounds=%d, want 2", rounds)
		}
		if st := task.Stats(); st.N != 4 || st.D != 2 {
			t.Fatalf("N=%d D=%d", st.N, st.D)
		}
	})
}

// remove plans the whole chain up front: one write per run of consecutive
// items on one shard, bottom-up.
func TestRoundsRemoveChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for shards := 1; shards <= 4; shards++ {
			m := memory.New()
			s0 := newStore(t, m, shards)
			doc := "/p/q/r/doc"
			if err := s0.NewTask(ctx).Set(ctx, doc, str("v")); err != nil {
				t.Fatal(err)
			}
			chain := []string{doc, "/p/q/r/", "/p/q/", "/p/", "/"}
			want := 1
			for i := 1; i < len(chain); i++ {
				if s0.router.ShardOf(chain[i]) != s0.router.ShardOf(chain[i-1]) {
					want++
				}
			}
			s, r := traced(t, m, s0)
			r.reset()
			task := s.NewTask(ctx)
			if err := task.Remove(ctx, doc); err != nil {
				t.Fatal(err)
			}
			if w := r.count("write"); w != want {
				t.Fatalf("%d shards: writes=%d, want %d", shards, w, want)
			}
			if maxRound(r, "read") != 1 {
				t.Fatalf("reads not all up front")
			}
			d := decodeMem(t, m)
			if len(d.Docs) != 0 || len(d.Dirs) != 0 {
				t.Fatalf("left behind: %v %v", d.Docs, d.Dirs)
			}
		}
	})
}

// 1000 updates in one task on an 8-shard store: at most 8 reads, and a
// number of writes bounded by a small multiple of the shard count.
func TestRoundsThousandUpdatesBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		newStore(t, m, 8)
		g := newGate(m)
		r := &recorder{}
		s, err := Open(ctx, m, []byte("pass phrase"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.a = trace.New(latency.New(g, latency.Options{Delay: slow}), r.add)
		task := s.NewTask(ctx)
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := fmt.Sprintf("/import/group%d/entry%d", i%10, i)
				if err := task.Set(ctx, p, str(fmt.Sprint("value ", i))); err != nil {
					t.Error(err)
				}
			}()
		}
		waitPreparing(t, task, 1000)
		g.release()
		wg.Wait()
		reads, writes := r.count("read"), r.count("write")
		if reads > 8 {
			t.Fatalf("reads=%d, want <= 8", reads)
		}
		// At most one write per shard for each level of the plan: the links,
		// then the puts (D = 2), whatever the entry count.
		if d := task.Stats().D; writes > d*8 || d > 2 {
			t.Fatalf("writes=%d with plan depth %d, want <= 8 per level and depth <= 2", writes, d)
		}
		// Every link in one round, then the puts.
		if rounds := maxRound(r, "write") - minRound(r, "write") + 1; rounds > 2 {
			t.Fatalf("write rounds=%d (stats %+v)", rounds, task.Stats())
		}
		d := decodeMem(t, m)
		if len(d.Docs) != 1000 {
			t.Fatalf("%d docs", len(d.Docs))
		}
		if err := d.Invariant(); err != nil {
			t.Fatal(err)
		}
	})
}
