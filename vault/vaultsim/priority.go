package vaultsim

import (
	"math/rand/v2"
	"testing"
)

// Priority runs n schedules of sc chosen by probabilistic concurrency
// testing (Burckhardt et al., ASPLOS 2010): each schedule gives the
// clients a random order of priority, runs the highest-priority client
// that can make a step, and at depth-1 random steps lowers the client
// that just ran below all others. A bug that needs d ordering constraints
// between clients is found with probability at least 1/(c·k^(d-1)) per
// schedule (c clients, k steps), however late in the run it lies.
//
// Uniform random schedules (Random) start every client's call within a
// few steps: a client that must stay idle until another one is forty
// steps into a migration, then act, almost never does. Crashes, lost
// replies and faults stay rare steps, as in Random.
func Priority(t *testing.T, sc *Scenario, seed, r0 uint64, n, depth int) Result {
	var res Result
	length := 100 // steps over which the change points are spread; grows with the runs
	for k := range n {
		rng := rand.New(rand.NewPCG(r0+uint64(k), 0x9c7))
		prio := rng.Perm(len(sc.Clients))
		for c := range prio {
			prio[c] += depth
		}
		changes := map[int]int{} // step -> the priority the client taking it drops to
		for i := range depth - 1 {
			changes[rng.IntN(length)] = i
		}
		var chosen []int
		choose := func(step int, en []action) int {
			var rare []int
			best := -1
			for j, a := range en {
				if a.kind == actCrash || a.kind == actLose || a.kind == actFault {
					rare = append(rare, j)
				} else if best < 0 || prio[a.client] > prio[en[best].client] {
					best = j
				}
			}
			c := 0
			switch {
			case len(rare) > 0 && (best < 0 || rng.IntN(30) == 0):
				c = rare[rng.IntN(len(rare))]
			case best >= 0:
				// Among the top client's enabled steps (its requests in
				// flight at once), any.
				var mine []int
				for j, a := range en {
					if a.client == en[best].client && a.kind != actCrash && a.kind != actLose && a.kind != actFault {
						mine = append(mine, j)
					}
				}
				c = mine[rng.IntN(len(mine))]
			}
			if p, ok := changes[step]; ok {
				prio[en[c].client] = p
			}
			chosen = append(chosen, c)
			return c
		}
		out := run(t, sc, seed, choose)
		res.Schedules++
		res.GaveUp += out.GaveUp
		res.MaxSteps = max(res.MaxSteps, out.Steps)
		length = max(length, out.Steps)
		if len(out.Problems) > 0 {
			res.Failure = &Failure{Scenario: sc.Name, Seed: seed, Choices: chosen, Outcome: out}
			return res
		}
	}
	return res
}
