package vaultsim

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The short form runs in make test: every scenario, a few shard placements,
// a bounded number of schedules each. make check-model sets VAULTSIM_FULL
// for the exhaustive run over every placement (docs/reliability.md has its
// counts).
// VAULTSIM_PLACEMENTS and VAULTSIM_SCHEDULES override the budget.
func budget() (placements, schedules int, full bool) {
	placements, schedules = 2, 300
	if full = os.Getenv("VAULTSIM_FULL") != ""; full {
		placements, schedules = 64, 2_000_000
	}
	if n, err := strconv.Atoi(os.Getenv("VAULTSIM_PLACEMENTS")); err == nil {
		placements = n
	}
	if n, err := strconv.Atoi(os.Getenv("VAULTSIM_SCHEDULES")); err == nil {
		schedules = n
	}
	return placements, schedules, full
}

func TestModel(t *testing.T) {
	placements, limit, full := budget()
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			placements, limit := placements, limit
			if full && migrates(sc) {
				// Some twenty requests, mostly in parallel: no exhaustive
				// search ends. TestRandomMigrations covers them.
				placements, limit = 2, 300
			}
			seeds, err := Placements(sc, placements, 400)
			if err != nil {
				t.Fatal(err)
			}
			total, pruned, gaveUp, complete := 0, 0, 0, true
			for _, seed := range seeds {
				res := Exhaustive(t, sc, seed, limit)
				if res.Failure != nil {
					t.Fatalf("violation after %d schedules: %s", res.Schedules, res.Failure)
				}
				total += res.Schedules
				pruned += res.Pruned
				gaveUp += res.GaveUp
				complete = complete && res.Complete
			}
			if full || testing.Verbose() {
				fmt.Printf("model: %-52s placements %2d  schedules %8d  pruned %8d  complete %-5v  gave-up calls %d\n",
					strconv.Quote(sc.Name), len(seeds), total, pruned, complete, gaveUp)
			}
		})
	}
}

// randomRuns runs n seeded random schedules (full: in the long run) of
// each scenario on placements stores; the scenario's schedule seeds start
// at store seed times mult. budget may change the counts per scenario.
func randomRuns(t *testing.T, scs []*Scenario, placements, n, full, mult uint64, budget func(*Scenario, *uint64, *uint64)) {
	if os.Getenv("VAULTSIM_FULL") != "" {
		n = full
	}
	for _, sc := range scs {
		sc.Paths = relevantPaths(sc)
		t.Run(sc.Name, func(t *testing.T) {
			placements, n := placements, n
			if budget != nil {
				budget(sc, &placements, &n)
			}
			seeds, err := Placements(sc, int(placements), 400)
			if err != nil {
				t.Fatal(err)
			}
			for _, seed := range seeds {
				if res := Random(t, sc, seed, seed*mult, int(n)); res.Failure != nil {
					t.Fatalf("violation: %s", res.Failure)
				}
			}
		})
	}
}

// TestRandomLarger runs seeded random schedules of the larger scenarios,
// each with a crash, past what the exhaustive bound reaches.
func TestRandomLarger(t *testing.T) {
	scs := append(ThreeClient(), SameTask()...)
	for _, sc := range scs {
		sc.Crashes = 1
	}
	randomRuns(t, scs, 3, 40, 2000, 1000, nil)
}

// TestRandomMigrations runs seeded random schedules of the migration
// scenarios: a migration is some twenty requests, most of them in
// parallel, so the exhaustive search's budget covers only the orders of
// its last steps.
func TestRandomMigrations(t *testing.T) {
	randomRuns(t, Migrating(), 2, 60, 3000, 7919, nil)
}

// TestRandomFaults runs seeded random schedules of the scenarios with
// injected faults, whose interleavings the exhaustive budget barely
// reaches.
func TestRandomFaults(t *testing.T) {
	var scs []*Scenario
	for _, sc := range Crashing() {
		if sc.Faults > 0 {
			scs = append(scs, sc)
		}
	}
	randomRuns(t, scs, 2, 2000, 20000, 31, func(sc *Scenario, placements, n *uint64) {
		if strings.Contains(sc.Name, "strands") {
			// Its hang needed up to 3 000 schedules on 4 stores.
			*placements, *n = 4, max(*n, 3000)
		}
	})
}

// TestReplay runs the schedule in VAULTSIM_REPLAY, printed by a failure.
func TestReplay(t *testing.T) {
	s := os.Getenv("VAULTSIM_REPLAY")
	if s == "" {
		t.Skip("set VAULTSIM_REPLAY to a schedule printed by a failing run")
	}
	name, seed, choices, err := ParseReplay(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range All() {
		if sc.Name == name {
			out := ReplayChoices(t, sc, seed, choices)
			t.Logf("schedule:\n    %s\ncalls:\n%s", describe(out), out.Calls)
			if len(out.Problems) > 0 {
				t.Fatalf("%v", out.Problems)
			}
			return
		}
	}
	t.Fatalf("no scenario %q", name)
}

func migrates(sc *Scenario) bool {
	for _, calls := range sc.Clients {
		for _, c := range calls {
			if c.Kind == Migrate || c.Kind == Resume {
				return true
			}
		}
	}
	return false
}
