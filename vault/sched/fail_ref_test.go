package sched

import (
	"math/rand/v2"
	"testing"
)

// TestReachesWithFailures is TestReachesMatchesFullWalk on plans where
// written groups also fail (as the engine's failed or lost writes do): the
// failed changes' callers cancel every change that depends on them.
func TestReachesWithFailures(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 1))
		p := New[any]()
		var all []*Change[any]
		shards := 1 + r.IntN(4)
		check := func(when string) {
			for _, a := range p.groups {
				for h := range a.dependents {
					if h.State == Open && h.depth <= a.depth {
						t.Fatalf("seed %d %s: edge g%d (depth %d) -> open g%d (depth %d)", seed, when, a.ID, a.depth, h.ID, h.depth)
					}
				}
				for _, b := range p.groups {
					if got, want := p.reaches(a, b), p.reachesFull(a, b); got != want {
						t.Fatalf("seed %d %s: reaches(g%d, g%d) = %v, full walk says %v", seed, when, a.ID, b.ID, got, want)
					}
				}
			}
		}
		dead := map[*Change[any]]bool{}
		for step := 0; step < 10; step++ {
			for range r.IntN(10) {
				var deps []*Change[any]
				for range r.IntN(3) {
					if len(all) > 0 {
						d := all[r.IntN(len(all))]
						if !dead[d] && (d.done || d.group != nil) {
							deps = append(deps, d)
						}
					}
				}
				c := ch(r.IntN(shards), deps...)
				p.Add(c)
				all = append(all, c)
			}
			check("after adds")
			if r.IntN(2) == 0 {
				p.Optimize()
				check("after optimize")
			}
			ready := p.Ready()
			for _, g := range ready {
				p.Start(g)
			}
			for _, g := range ready {
				if r.IntN(3) > 0 {
					p.Done(g)
					continue
				}
				for _, c := range p.Fail(g) {
					dead[c] = true
				}
				// Cancel, transitively, what depends on a dead change.
				for changed := true; changed; {
					changed = false
					for _, c := range all {
						if dead[c] {
							continue
						}
						for _, d := range c.Deps {
							if dead[d] && !d.done {
								dead[c] = true
								p.Cancel(c)
								changed = true
								break
							}
						}
					}
				}
				check("after a failure")
			}
		}
		// Liveness: what is left must drain.
		for round := 0; ; round++ {
			ready := p.Ready()
			if len(ready) == 0 {
				break
			}
			if round > 1000 {
				t.Fatalf("seed %d: the plan does not drain", seed)
			}
			for _, g := range ready {
				p.Start(g)
			}
			for _, g := range ready {
				p.Done(g)
			}
		}
		for _, c := range all {
			if !dead[c] && !c.done {
				g := c.group
				t.Fatalf("seed %d: a live change is never written (group %v, state %v, %d groups in the plan)", seed, g != nil, func() State {
					if g == nil {
						return -1
					}
					return g.State
				}(), len(p.groups))
			}
		}
	}
}
