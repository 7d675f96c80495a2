package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// optimizeReference is Optimize as first written: after every merge it
// starts again from the first pair, and it computes D after a merge over
// the whole plan. The faster Optimize must merge exactly the same groups.
func (p *Plan[any]) optimizeReference() {
	for {
		merged := false
		open := p.openGroups()
		for i := 0; i < len(open) && !merged; i++ {
			for j := i + 1; j < len(open) && !merged; j++ {
				a, b := open[i], open[j]
				if a.Shard != b.Shard || p.reaches(a, b) || p.reaches(b, a) {
					continue
				}
				if p.depthAfterMergeReference(a, b) > p.D() {
					continue
				}
				p.merge(a, b)
				merged = true
			}
		}
		if !merged {
			return
		}
	}
}

// depthAfterMergeReference computes D as it would be if a and b were one
// group, over every group of the plan.
func (p *Plan[any]) depthAfterMergeReference(a, b *Group[any]) int {
	alias := func(g *Group[any]) *Group[any] {
		if g == b {
			return a
		}
		return g
	}
	memo := map[*Group[any]]int{}
	var depth func(g *Group[any]) int
	depth = func(g *Group[any]) int {
		if v, ok := memo[g]; ok {
			return v
		}
		memo[g] = 0
		d := 1
		preds := []*Group[any]{g}
		if g == a {
			preds = append(preds, b)
		}
		for _, x := range preds {
			for dep := range x.deps {
				if v := depth(alias(dep)) + 1; v > d {
					d = v
				}
			}
		}
		if (g.State == Done || g.State == Running) && g.depth > d {
			d = g.depth
		}
		memo[g] = d
		return d
	}
	m := p.doneD // written groups keep their depth
	for _, g := range p.groups {
		if g == b {
			continue
		}
		m = max(m, depth(g))
	}
	return m
}

// randomPlan builds a plan from a seeded sequence of Adds, Cancels and
// executed rounds, optimising with opt whenever the engine would.
func randomPlan(seed uint64, opt func(p *Plan[any])) (*Plan[any], []*Change[any]) {
	r := rand.New(rand.NewPCG(seed, 0))
	p := New[any]()
	var all []*Change[any]
	shards := 1 + r.IntN(5)
	for step := 0; step < 8; step++ {
		for range r.IntN(12) {
			var deps []*Change[any]
			for range r.IntN(3) {
				if len(all) > 0 {
					d := all[r.IntN(len(all))]
					if d.done || d.group != nil {
						deps = append(deps, d)
					}
				}
			}
			c := ch(r.IntN(shards), deps...)
			p.Add(c)
			all = append(all, c)
		}
		if r.IntN(4) == 0 && len(all) > 0 {
			c := all[r.IntN(len(all))]
			// Cancel only changes nothing else depends on, as the engine
			// cancels whole operations.
			free := true
			for _, o := range all {
				for _, d := range o.Deps {
					if d == c && o.group != nil {
						free = false
					}
				}
			}
			if free && c.group != nil {
				p.Cancel(c)
			}
		}
		opt(p)
		if r.IntN(2) == 0 {
			ready := p.Ready()
			for _, g := range ready {
				p.Start(g)
			}
			for _, g := range ready {
				p.Done(g)
			}
		}
	}
	opt(p)
	return p, all
}

// describe renders the plan's groups by the indexes of their changes.
func describe(p *Plan[any], all []*Change[any]) string {
	idx := map[*Change[any]]int{}
	for i, c := range all {
		idx[c] = i
	}
	s := ""
	for _, g := range p.Groups() {
		s += fmt.Sprintf("[shard %d %s depth %d:", g.Shard, g.State, g.depth)
		for _, c := range g.Changes {
			s += fmt.Sprintf(" %d", idx[c])
		}
		s += "] "
	}
	return s + fmt.Sprintf("N=%d D=%d", p.N(), p.D())
}

func TestOptimizeMatchesReference(t *testing.T) {
	for seed := range uint64(3000) {
		fast, fa := randomPlan(seed, (*Plan[any]).Optimize)
		ref, ra := randomPlan(seed, (*Plan[any]).optimizeReference)
		if got, want := describe(fast, fa), describe(ref, ra); got != want {
			t.Fatalf("seed %d:\n got  %s\n want %s", seed, got, want)
		}
	}
}

// TestReachesMatchesFullWalk checks the walk cut by depth against the full
// walk, for every ordered pair of groups of random plans at every step,
// and the invariant the cut rests on: along every edge into an open group
// the depth grows.
func TestReachesMatchesFullWalk(t *testing.T) {
	check := func(seed uint64, p *Plan[any]) {
		for _, a := range p.groups {
			for h := range a.dependents {
				if h.State == Open && h.depth <= a.depth {
					t.Fatalf("seed %d: edge g%d (depth %d) -> open g%d (depth %d)", seed, a.ID, a.depth, h.ID, h.depth)
				}
			}
			for _, b := range p.groups {
				if got, want := p.reaches(a, b), p.reachesFull(a, b); got != want {
					t.Fatalf("seed %d: reaches(g%d, g%d) = %v, full walk says %v", seed, a.ID, b.ID, got, want)
				}
			}
		}
	}
	for seed := range uint64(3000) {
		randomPlan(seed, func(p *Plan[any]) {
			check(seed, p)
			p.Optimize()
			check(seed, p)
		})
	}
}
