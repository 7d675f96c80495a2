package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func ch(shard int, deps ...*Change[any]) *Change[any] {
	return &Change[any]{Shard: shard, Deps: deps}
}

func addAll(p *Plan[any], cs ...*Change[any]) {
	for _, c := range cs {
		p.Add(c)
	}
}

// run executes the plan to completion the way the engine does, one
// "round" at a time, and returns the number of rounds.
func run(t *testing.T, p *Plan[any]) (writes, rounds int) {
	t.Helper()
	for p.Pending() {
		p.Optimize()
		ready := p.Ready()
		if len(ready) == 0 {
			t.Fatalf("plan is stuck: %s", dump(p))
		}
		seen := map[int]bool{}
		for _, g := range ready {
			if seen[g.Shard] {
				t.Fatalf("two writes in flight on shard %d", g.Shard)
			}
			seen[g.Shard] = true
			p.Start(g)
			for _, c := range g.Changes {
				for _, d := range c.Deps {
					if !d.done && d.group != g {
						t.Fatalf("change written before its dependency")
					}
				}
			}
		}
		for _, g := range ready {
			p.Done(g)
		}
		writes += len(ready)
		rounds++
	}
	return writes, rounds
}

func dump(p *Plan[any]) string {
	s := ""
	for _, g := range p.groups {
		s += fmt.Sprintf("[g%d shard %d %s depth %d changes %d deps %d] ", g.ID, g.Shard, g.State, g.depth, len(g.Changes), len(g.deps))
	}
	return s
}

// update('/doc') in a one-shard store: the link of "doc" into "/" and the
// put land in one write.
func TestUpdateOneShardIsOneWrite(t *testing.T) {
	p := New[any]()
	link := ch(0)
	put := ch(0, link)
	addAll(p, link, put)
	if p.N() != 1 || p.D() != 1 {
		t.Fatalf("N=%d D=%d, want 1 1", p.N(), p.D())
	}
	if w, r := run(t, p); w != 1 || r != 1 {
		t.Fatalf("writes=%d rounds=%d, want 1 1", w, r)
	}
}

// Document and directory on different shards: two writes in sequence.
func TestUpdateTwoShardsIsTwoSequentialWrites(t *testing.T) {
	p := New[any]()
	link := ch(0)
	put := ch(1, link)
	addAll(p, link, put)
	if p.N() != 2 || p.D() != 2 {
		t.Fatalf("N=%d D=%d, want 2 2", p.N(), p.D())
	}
	if put.Group() == link.Group() {
		t.Fatal("put joined the link's group across shards")
	}
	if w, r := run(t, p); w != 2 || r != 2 {
		t.Fatalf("writes=%d rounds=%d, want 2 2", w, r)
	}
}

// update(/a/b/doc) with every item on its own shard: three independent
// links in one round, then the put.
func TestUpdateDeepLinksRunInParallel(t *testing.T) {
	p := New[any]()
	l1, l2, l3 := ch(0), ch(1), ch(2)
	put := ch(3, l1, l2, l3)
	addAll(p, l1, l2, l3, put)
	if p.N() != 4 || p.D() != 2 {
		t.Fatalf("N=%d D=%d, want 4 2", p.N(), p.D())
	}
	if w, r := run(t, p); w != 4 || r != 2 {
		t.Fatalf("writes=%d rounds=%d, want 4 2", w, r)
	}
}

// Two updates whose dependencies cross: A links on shard 0 and puts on
// shard 1; B links on shard 1 and puts on shard 0. Each shard is written
// twice, in two rounds; merging either pair of same-shard groups would need
// three rounds, so the plan must not do it.
func TestCrossedDependencies(t *testing.T) {
	p := New[any]()
	la := ch(0)
	pa := ch(1, la)
	lb := ch(1)
	pb := ch(0, lb)
	addAll(p, la, pa, lb, pb)
	p.Optimize()
	if p.N() != 4 || p.D() != 2 {
		t.Fatalf("N=%d D=%d, want 4 2: %s", p.N(), p.D(), dump(p))
	}
	if la.Group() == pb.Group() || lb.Group() == pa.Group() {
		t.Fatal("a put shares a write with a link on the other shard's chain")
	}
	if w, r := run(t, p); w != 4 || r != 2 {
		t.Fatalf("writes=%d rounds=%d, want 4 2", w, r)
	}
}

// Rule 2: a change that depends on a change of its own shard through a
// change on another shard may not share that change's write.
func TestIndirectDependencyThroughOtherShard(t *testing.T) {
	p := New[any]()
	a := ch(0)
	b := ch(1, a)
	c := ch(0, b)
	addAll(p, a, b, c)
	if c.Group() == a.Group() {
		t.Fatal("c joined a's group although it depends on it through shard 1")
	}
	if w, r := run(t, p); w != 3 || r != 3 {
		t.Fatalf("writes=%d rounds=%d, want 3 3", w, r)
	}
}

// remove(/a/b/doc) with the document, /a/b/ and /a/ on alternating shards:
// rm, then each unlink after the previous one.
func TestRemoveChain(t *testing.T) {
	p := New[any]()
	rm := ch(0)
	u1 := ch(1, rm)
	u2 := ch(0, u1)
	u3 := ch(1, u2)
	addAll(p, rm, u1, u2, u3)
	if p.N() != 4 || p.D() != 4 {
		t.Fatalf("N=%d D=%d, want 4 4", p.N(), p.D())
	}
	if w, r := run(t, p); w != 4 || r != 4 {
		t.Fatalf("writes=%d rounds=%d, want 4 4", w, r)
	}
}

// The same chain on one shard is one write: each change joins the group of
// the change it depends on directly.
func TestRemoveChainOneShard(t *testing.T) {
	p := New[any]()
	rm := ch(0)
	u1 := ch(0, rm)
	u2 := ch(0, u1)
	addAll(p, rm, u1, u2)
	if w, r := run(t, p); w != 1 || r != 1 {
		t.Fatalf("writes=%d rounds=%d, want 1 1", w, r)
	}
}

// A group that has started is closed: a change arriving while it is in
// flight goes into a later group, and only one write per shard runs.
func TestStartedGroupIsClosed(t *testing.T) {
	p := New[any]()
	a := ch(0)
	p.Add(a)
	ready := p.Ready()
	if len(ready) != 1 {
		t.Fatalf("ready=%d", len(ready))
	}
	p.Start(ready[0])
	b := ch(0)
	p.Add(b)
	if b.Group() == a.Group() {
		t.Fatal("change joined a running group")
	}
	if r := p.Ready(); len(r) != 0 {
		t.Fatal("second write on a shard with one in flight")
	}
	p.Done(ready[0])
	r := p.Ready()
	if len(r) != 1 || r[0] != b.Group() {
		t.Fatal("next group not ready after the first finished")
	}
}

// Many independent changes on few shards batch into one write per shard.
func TestBatchingIndependentChanges(t *testing.T) {
	p := New[any]()
	for i := 0; i < 1000; i++ {
		link := ch(i % 4)
		put := ch((i*7+1)%8, link)
		addAll(p, link, put)
	}
	p.Optimize()
	if p.D() != 2 {
		t.Fatalf("D=%d, want 2", p.D())
	}
	w, r := run(t, p)
	if r != 2 || w > 16 {
		t.Fatalf("writes=%d rounds=%d, want <=16 writes in 2 rounds", w, r)
	}
}

// Cancelling changes (a re-plan after a conflict) removes their groups and
// edges; the rest of the plan is kept.
func TestCancelKeepsRestOfPlan(t *testing.T) {
	p := New[any]()
	la := ch(0)
	pa := ch(1, la)
	lb := ch(2)
	pb := ch(3, lb)
	addAll(p, la, pa, lb, pb)
	g := p.Ready()
	for _, x := range g {
		p.Start(x)
	}
	// The write of la fails; lb succeeds.
	failed := p.Fail(la.Group())
	if len(failed) != 1 || failed[0] != la {
		t.Fatalf("failed changes %v", failed)
	}
	p.Done(lb.Group())
	if !p.Cancel(pa) {
		t.Fatal("could not cancel an open change")
	}
	// Re-plan A.
	la2 := ch(0)
	pa2 := ch(1, la2)
	addAll(p, la2, pa2)
	w, r := run(t, p)
	if w != 3 || r != 2 {
		t.Fatalf("writes=%d rounds=%d after re-plan, want 3 2", w, r)
	}
	if !pb.IsDone() || !pa2.IsDone() {
		t.Fatal("plan did not finish")
	}
}

// Property: for random dependency graphs, every execution respects the
// dependencies (checked in run), runs at most one write per shard at a
// time, and finishes.
func TestRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		p := New[any]()
		shards := 1 + rng.IntN(6)
		var all []*Change[any]
		n := 1 + rng.IntN(60)
		for i := 0; i < n; i++ {
			c := ch(rng.IntN(shards))
			for k := 0; k < 3 && len(all) > 0; k++ {
				if rng.IntN(2) == 0 {
					c.Deps = append(c.Deps, all[rng.IntN(len(all))])
				}
			}
			p.Add(c)
			all = append(all, c)
			// Sometimes start what is ready while planning goes on.
			if rng.IntN(5) == 0 {
				for _, g := range p.Ready() {
					p.Start(g)
					p.Done(g)
				}
			}
		}
		run(t, p)
		for _, c := range all {
			if !c.IsDone() {
				t.Fatalf("iteration %d: change left unwritten", iter)
			}
		}
	}
}

func BenchmarkPlan10000(b *testing.B) {
	for b.Loop() {
		p := New[any]()
		for i := 0; i < 5000; i++ {
			link := ch(i % 16)
			put := ch((i*7+3)%16, link)
			p.Add(link)
			p.Add(put)
		}
		p.Optimize()
		if p.D() != 2 {
			b.Fatalf("D=%d", p.D())
		}
	}
}
