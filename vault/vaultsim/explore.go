package vaultsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/vault"
)

// Placements returns up to max store seeds that put sc.Paths on distinct
// combinations of shards (seeds 1, 2, ... tried in order), so that a
// scenario is checked with its items together on one shard, spread over
// several, and mixed.
func Placements(sc *Scenario, max, tries int) ([]uint64, error) {
	seen := map[string]bool{}
	var seeds []uint64
	for seed := uint64(1); seed <= uint64(tries) && len(seeds) < max; seed++ {
		mem, err := setup(&Scenario{Shards: sc.shards()}, seed)
		if err != nil {
			return nil, err
		}
		s, err := vault.Open(context.Background(), mem, []byte(passphrase), vault.Options{})
		if err != nil {
			return nil, err
		}
		// Name shards by first use, so that placements equal up to a
		// renaming of shards count once.
		names := map[string]int{}
		var sig []string
		for _, p := range sc.Paths {
			b := s.ShardOf(p)
			if _, ok := names[b]; !ok {
				names[b] = len(names)
			}
			sig = append(sig, strconv.Itoa(names[b]))
		}
		k := strings.Join(sig, "")
		if !seen[k] {
			seen[k] = true
			seeds = append(seeds, seed)
		}
	}
	return seeds, nil
}

// Result sums up an exploration.
type Result struct {
	Schedules int  // complete schedules run and checked
	Pruned    int  // schedules cut short as equivalent to one already run
	Complete  bool // every schedule (up to equivalence) was run
	GaveUp    int  // calls that gave up after too many conflicts, over all schedules
	MaxSteps  int
	Failure   *Failure
}

// Failure is a schedule that broke a check, with what replays it.
type Failure struct {
	Scenario string
	Seed     uint64
	Choices  []int
	Outcome  *Outcome
}

// Replay is the string that VAULTSIM_REPLAY takes to run the schedule again.
func (f *Failure) Replay() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%d:", f.Scenario, f.Seed)
	for i, c := range f.Choices {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c))
	}
	return b.String()
}

func (f *Failure) String() string {
	return fmt.Sprintf("scenario %q, store seed %d: %s\n  calls:\n%s  schedule:\n    %s\n  replay: VAULTSIM_REPLAY='%s' go test ./vault/vaultsim -run TestReplay -v",
		f.Scenario, f.Seed, strings.Join(f.Outcome.Problems, "; "), f.Outcome.Calls, describe(f.Outcome), f.Replay())
}

// Exhaustive runs every schedule of sc on the store made from seed, up to
// the equivalence of independent steps (sleep sets: two steps of different
// clients on different blobs, or two reads, commute), stopping at the
// first failure or after limit schedules.
func Exhaustive(t *testing.T, sc *Scenario, seed uint64, limit int) Result {
	var res Result
	var prefix []int
	for {
		if res.Schedules >= limit {
			return res
		}
		// The sleep set of the node being visited, carried down the path.
		sleep := map[string]action{}
		redundant := -1
		var chosen []int
		var alts [][]int // per step: the choices still to explore there
		choose := func(step int, en []action) int {
			inSleep := func(a action) bool { _, ok := sleep[a.key]; return ok }
			var c int
			switch {
			case step < len(prefix):
				c = prefix[step]
				if c >= len(en) {
					c = len(en) - 1 // the engine took another path; stay legal
				}
			default:
				c = -1
				for j, a := range en {
					if !inSleep(a) {
						c = j
						break
					}
				}
				if c < 0 {
					// Every step here is asleep: this schedule is equivalent
					// to one already run. Finish it without branching.
					if redundant < 0 {
						redundant = step
					}
					c = 0
				}
			}
			var rest []int
			if redundant < 0 || step < redundant {
				for j := c + 1; j < len(en); j++ {
					if !inSleep(en[j]) {
						rest = append(rest, j)
					}
				}
			}
			alts = append(alts, rest)
			chosen = append(chosen, c)
			// Child's sleep set: what slept here or was explored before c,
			// and commutes with the step taken.
			next := map[string]action{}
			for _, a := range sleep {
				if independent(a, en[c]) {
					next[a.key] = a
				}
			}
			for j := 0; j < c; j++ {
				if !inSleep(en[j]) && independent(en[j], en[c]) {
					next[en[j].key] = en[j]
				}
			}
			sleep = next
			return c
		}
		out := run(t, sc, seed, choose)
		if redundant >= 0 {
			res.Pruned++
		} else {
			res.Schedules++
		}
		res.GaveUp += out.GaveUp
		res.MaxSteps = max(res.MaxSteps, out.Steps)
		if len(out.Problems) > 0 {
			res.Failure = &Failure{Scenario: sc.Name, Seed: seed, Choices: chosen, Outcome: out}
			return res
		}
		// Backtrack to the deepest step with a choice left.
		i := len(alts) - 1
		for i >= 0 && len(alts[i]) == 0 {
			i--
		}
		if i < 0 {
			res.Complete = true
			return res
		}
		prefix = append(append([]int{}, chosen[:i]...), alts[i][0])
	}
}

// Random runs n seeded random schedules of sc (seed r0, r0+1, ...).
// Crashes and lost replies are rare steps, so most schedules also run long.
func Random(t *testing.T, sc *Scenario, seed uint64, r0 uint64, n int) Result {
	var res Result
	for k := range n {
		rng := rand.New(rand.NewPCG(r0+uint64(k), 0x5eed))
		var chosen []int
		choose := func(step int, en []action) int {
			var normal, rare []int
			for j, a := range en {
				if a.kind == actCrash || a.kind == actLose || a.kind == actFault {
					rare = append(rare, j)
				} else {
					normal = append(normal, j)
				}
			}
			c := 0
			if len(rare) > 0 && (len(normal) == 0 || rng.IntN(30) == 0) {
				c = rare[rng.IntN(len(rare))]
			} else if len(normal) > 0 {
				c = normal[rng.IntN(len(normal))]
			}
			chosen = append(chosen, c)
			return c
		}
		out := run(t, sc, seed, choose)
		res.Schedules++
		res.GaveUp += out.GaveUp
		res.MaxSteps = max(res.MaxSteps, out.Steps)
		if len(out.Problems) > 0 {
			res.Failure = &Failure{Scenario: sc.Name, Seed: seed, Choices: chosen, Outcome: out}
			return res
		}
	}
	return res
}

// ReplayChoices runs one schedule given by its choices.
func ReplayChoices(t *testing.T, sc *Scenario, seed uint64, choices []int) *Outcome {
	return run(t, sc, seed, func(step int, en []action) int {
		if step < len(choices) && choices[step] < len(en) {
			return choices[step]
		}
		return 0
	})
}

// ParseReplay splits a VAULTSIM_REPLAY string.
func ParseReplay(s string) (name string, seed uint64, choices []int, err error) {
	at := strings.LastIndexByte(s, '@')
	colon := strings.LastIndexByte(s, ':')
	if at < 0 || colon < at {
		return "", 0, nil, fmt.Errorf("replay %q: want NAME@SEED:C,C,...", s)
	}
	name = s[:at]
	if seed, err = strconv.ParseUint(s[at+1:colon], 10, 64); err != nil {
		return "", 0, nil, fmt.Errorf("replay seed: %w", err)
	}
	if rest := s[colon+1:]; rest != "" {
		for _, f := range strings.Split(rest, ",") {
			c, err := strconv.Atoi(f)
			if err != nil {
				return "", 0, nil, fmt.Errorf("replay choice %q: %w", f, err)
			}
			choices = append(choices, c)
		}
	}
	return name, seed, choices, nil
}

func sortStrings(s []string) { slices.Sort(s) }
