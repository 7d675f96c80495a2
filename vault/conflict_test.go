package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/internal/specdecode"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

// beforeWrite runs a hook before the first write to a blob, then forwards.
type beforeWrite struct {
	adapters.Adapter
	blob string
	once sync.Once
	hook func()
}

func (b *beforeWrite) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if id == b.blob {
		b.once.Do(b.hook)
	}
	return b.Adapter.Write(ctx, id, data, rev)
}

// A conflict re-reads only the conflicted shard, re-plans only what it must,
// and the other client's write survives.
func TestConflictRereadsOnlyConflictedShard(t *testing.T) {
	m := memory.New()
	s0 := newStore(t, m, 4)
	// /dir/ exists already, so update(/dir/new) is link on shard(/dir/),
	// then put on shard(/dir/new); choose the put's shard different.
	if err := s0.NewTask(ctx).Set(ctx, "/dir/old", str("x")); err != nil {
		t.Fatal(err)
	}
	dirShard := s0.router.ShardOf("/dir/")
	doc := pathOn(s0, "/dir/", (dirShard+1)%4)
	// The other client changes an existing document on doc's shard, so
	// that it writes nothing but that shard.
	other := pathOn(s0, "/", s0.router.ShardOf(doc), doc)
	if err := s0.NewTask(ctx).Set(ctx, other, str("before")); err != nil {
		t.Fatal(err)
	}
	target := s0.router.BlobID(s0.router.ShardOf(doc))

	var r recorder
	hooked := &beforeWrite{Adapter: m, blob: target, hook: func() {
		// Another client writes the document's shard first.
		if err := s0.NewTask(ctx).Set(ctx, other, str("theirs")); err != nil {
			t.Error(err)
		}
	}}
	s, err := Open(ctx, trace.New(hooked, r.add), []byte("pass phrase"), Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.reset()
	task := s.NewTask(ctx)
	if err := task.Set(ctx, doc, str("mine")); err != nil {
		t.Fatal(err)
	}
	st := task.Stats()
	if st.Conflicts != 1 {
		t.Fatalf("conflicts=%d, want 1", st.Conflicts)
	}
	reads := map[string]int{}
	r.mu.Lock()
	for _, e := range r.events {
		if e.Op == "read" {
			reads[e.ID]++
		}
	}
	r.mu.Unlock()
	for id, n := range reads {
		want := 1
		if id == target {
			want = 2
		}
		if n != want {
			t.Errorf("shard %s read %d times, want %d (reads %v)", id, n, want, reads)
		}
	}
	d := decodeMem(t, m)
	if string(d.Docs[doc]) != `"mine"` || string(d.Docs[other]) != `"theirs"` {
		t.Fatalf("lost a write: %v", d.Docs)
	}
	if err := d.Invariant(); err != nil {
		t.Fatal(err)
	}
}

// alwaysConflict fails every write with a conflict.
type alwaysConflict struct{ adapters.Adapter }

func (alwaysConflict) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return "", adapters.NewError("write", id, adapters.ErrConflict, nil)
}

func TestConflictRetryLimit(t *testing.T) {
	m := memory.New()
	newStore(t, m, 2)
	s, err := Open(ctx, alwaysConflict{m}, []byte("pass phrase"), Options{MaxConflicts: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	task := s.NewTask(ctx)
	err = task.Set(ctx, "/doc", str("v"))
	if !errors.Is(err, ErrTooManyConflicts) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "shard-") || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("message does not say where and what to do: %v", err)
	}
	if st := task.Stats(); st.Conflicts != 4 {
		t.Fatalf("conflicts=%d, want 1 + 3 retries", st.Conflicts)
	}
}

// Calls that need a shard being read wait for that read: one read for many
// concurrent Gets.
func TestTaskCacheOneReadPerShard(t *testing.T) {
	m := memory.New()
	s0 := newStore(t, m, 2)
	if err := s0.NewTask(ctx).Set(ctx, "/a", str("x")); err != nil {
		t.Fatal(err)
	}
	g := newGate(m)
	r := &recorder{}
	s, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.a = trace.New(g, r.add)
	task := s.NewTask(ctx)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := task.Get(ctx, "/a"); err != nil || string(v) != `"x"` {
				t.Errorf("%s %v", v, err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the Gets pile up on the read
	g.release()
	wg.Wait()
	if n := r.count("read"); n != 1 {
		t.Fatalf("reads=%d, want 1", n)
	}
}

// Two clients race on one directory whose items live on other shards than
// its parent: one keeps removing and re-adding the only document, the other
// keeps adding documents. This is the window rules 2 and 3 of
// docs/architecture.md close (every link written, names dropped only on
// proof); the invariant must hold
// at every instant.
func TestContentionOnOneDirectory(t *testing.T) {
	m := memory.New()
	newStore(t, m, 3)
	var mu sync.Mutex // serialises snapshots with nothing; Blobs is atomic
	check := func(when string) {
		mu.Lock()
		defer mu.Unlock()
		d, err := specdecode.Decode(m.Blobs(), "pass phrase")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if err := d.Invariant(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	var wg sync.WaitGroup
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, m, []byte("pass phrase"), Options{Backoff: time.Millisecond, MaxConflicts: 100})
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 60 && !t.Failed(); i++ {
				task := s.NewTask(ctx)
				p := fmt.Sprintf("/x/y/c%d-%d", c, i%3)
				var err error
				if c == 0 && i%2 == 1 {
					err = task.Prune(ctx, "/x/")
				} else if i%2 == 1 {
					err = task.Remove(ctx, p)
				} else {
					err = task.Set(ctx, p, str("v"))
				}
				if err != nil {
					t.Error(err)
				}
				check(fmt.Sprintf("client %d step %d", c, i))
			}
		}()
	}
	wg.Wait()
	check("end")
}

// GetAll reads many documents with at most one read per shard.
func TestGetAllOneReadPerShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := memory.New()
		s0 := newStore(t, m, 4)
		task := s0.NewTask(ctx)
		var paths []string
		for i := 0; i < 40; i++ {
			p := fmt.Sprintf("/d%d/e%d", i%5, i)
			paths = append(paths, p)
			if err := task.Set(ctx, p, str(p)); err != nil {
				t.Fatal(err)
			}
		}
		paths = append(paths, "/missing")
		s, r := traced(t, m, s0)
		vals, errs := s.NewTask(ctx).GetAll(ctx, paths)
		for i, p := range paths[:40] {
			if errs[i] != nil || string(vals[i]) != string(str(p)) {
				t.Fatalf("%s: %s %v", p, vals[i], errs[i])
			}
		}
		if !errors.Is(errs[40], ErrNotFound) {
			t.Fatalf("missing: %v", errs[40])
		}
		if n := r.count("read"); n > 4 || maxRound(r, "read") != 1 {
			t.Fatalf("%d reads in %d rounds, want <= 4 in 1", n, maxRound(r, "read"))
		}
	})
}
