package vault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/internal/specdecode"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

// expectation tracks, per document, the outcomes the final store may show:
// after an acknowledged operation exactly its result; after a failed one,
// the result before it or its own.
type expectation struct {
	mu      sync.Mutex
	allowed map[string][]string // path -> allowed values ("" = absent)
}

func (e *expectation) ack(path, v string) {
	e.mu.Lock()
	e.allowed[path] = []string{v}
	e.mu.Unlock()
}

func (e *expectation) maybe(path, v string) {
	e.mu.Lock()
	if _, ok := e.allowed[path]; !ok {
		// Nothing acknowledged yet: the document may still be absent, as
		// it was at the start.
		e.allowed[path] = []string{""}
	}
	if !slices.Contains(e.allowed[path], v) {
		e.allowed[path] = append(e.allowed[path], v)
	}
	e.mu.Unlock()
}

type clientOp struct {
	kind  string // "set", "remove", "prune"
	path  string
	value string
	under []string // prune: the client's documents below the directory
}

// runClients runs clients on one shared store, each with its own Store
// instance (so its own cache and plans) on wrap(base), doing random
// set/remove/prune mixes in tasks of several concurrent calls. Every client
// owns its documents, but all share the directories above them, so the
// links and unlinks of shared directories race. It returns what the final
// store may hold.
func runClients(t *testing.T, base adapters.Adapter, wrap func(client int) adapters.Adapter, clients, tasks int, seed uint64, during func()) *expectation {
	t.Helper()
	exp := &expectation{allowed: map[string][]string{}}
	docPath := func(c, i, j int) string {
		if i == 3 {
			return fmt.Sprintf("/top-c%d-%d", c, j)
		}
		return fmt.Sprintf("/s%d/shared/c%d/d%d", i, c, j)
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			s, err := Open(ctx, wrap(c), []byte("pass phrase"), Options{Backoff: time.Millisecond})
			if err != nil {
				// Open may fail under injected faults; try without them.
				s, err = Open(ctx, base, []byte("pass phrase"), Options{Backoff: time.Millisecond})
				if err != nil {
					t.Error(err)
					return
				}
			}
			for k := 0; k < tasks && !stop.Load(); k++ {
				task := s.NewTask(ctx)
				var ops []clientOp
				used := map[int]bool{} // directory index -> used by an op of this task
				for n := 1 + rng.IntN(4); n > 0; n-- {
					i := rng.IntN(4)
					if used[i] {
						continue
					}
					used[i] = true
					switch r := rng.IntN(10); {
					case r < 6:
						p := docPath(c, i, rng.IntN(3))
						ops = append(ops, clientOp{kind: "set", path: p, value: fmt.Sprintf("c%d-t%d-%d", c, k, rng.IntN(1000))})
					case r < 9 || i == 3:
						ops = append(ops, clientOp{kind: "remove", path: docPath(c, i, rng.IntN(3))})
					default:
						o := clientOp{kind: "prune", path: fmt.Sprintf("/s%d/shared/c%d/", i, c)}
						for j := 0; j < 3; j++ {
							o.under = append(o.under, docPath(c, i, j))
						}
						ops = append(ops, o)
					}
				}
				var tw sync.WaitGroup
				for _, o := range ops {
					tw.Add(1)
					go func() {
						defer tw.Done()
						var err error
						switch o.kind {
						case "set":
							err = task.Set(ctx, o.path, str(o.value))
							if err == nil {
								exp.ack(o.path, o.value)
							} else {
								exp.maybe(o.path, o.value)
							}
						case "remove":
							err = task.Remove(ctx, o.path)
							if err == nil {
								exp.ack(o.path, "")
							} else {
								exp.maybe(o.path, "")
							}
						case "prune":
							err = task.Prune(ctx, o.path)
							for _, p := range o.under {
								if err == nil {
									exp.ack(p, "")
								} else {
									exp.maybe(p, "")
								}
							}
						}
						if err != nil && !errorsAreExpected(err) {
							t.Errorf("client %d %s %s: unexpected error %v", c, o.kind, o.path, err)
						}
					}()
				}
				tw.Wait()
				if during != nil {
					during()
				}
			}
		}()
	}
	wg.Wait()
	return exp
}

// errorsAreExpected reports whether err is one a faulty store may cause.
func errorsAreExpected(err error) bool {
	return strings.Contains(err.Error(), "temporary failure") ||
		strings.Contains(err.Error(), "conflicting writes") ||
		strings.Contains(err.Error(), "injected")
}

func checkOutcome(t *testing.T, d *specdecode.Store, exp *expectation) {
	t.Helper()
	if err := d.Invariant(); err != nil {
		t.Fatalf("safety invariant broken: %v", err)
	}
	exp.mu.Lock()
	defer exp.mu.Unlock()
	for p, allowed := range exp.allowed {
		got := ""
		if v, ok := d.Docs[p]; ok {
			var s string
			json.Unmarshal(v, &s)
			got = s
		}
		if !slices.Contains(allowed, got) {
			t.Errorf("%s = %q, allowed %q", p, got, allowed)
		}
	}
	for p := range d.Docs {
		if _, ok := exp.allowed[p]; !ok {
			t.Errorf("unexpected document %s", p)
		}
	}
}

func TestRandomConcurrentClientsMemory(t *testing.T) {
	for _, shards := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(shards, "shards"), func(t *testing.T) {
			m := memory.New()
			newStore(t, m, shards)
			// The invariant must hold at every instant, not just at the end:
			// check snapshots while the clients run.
			checks := 0
			during := func() {
				d, err := specdecode.Decode(m.Blobs(), "pass phrase")
				if err != nil {
					t.Errorf("mid-run snapshot: %v", err)
					return
				}
				if err := d.Invariant(); err != nil {
					t.Errorf("mid-run: %v", err)
				}
				checks++
			}
			var mu sync.Mutex
			locked := func() { mu.Lock(); defer mu.Unlock(); during() }
			exp := runClients(t, m, func(int) adapters.Adapter { return m }, 4, 40, uint64(shards), locked)
			checkOutcome(t, decodeMem(t, m), exp)
			if checks == 0 {
				t.Fatal("no mid-run check ran")
			}
		})
	}
}

func TestRandomConcurrentClientsFaults(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprint(shards, "shards"), func(t *testing.T) {
			m := memory.New()
			newStore(t, m, shards)
			var injected atomic.Int64
			var mu sync.Mutex
			during := func() {
				mu.Lock()
				defer mu.Unlock()
				d, err := specdecode.Decode(m.Blobs(), "pass phrase")
				if err != nil {
					t.Errorf("mid-run snapshot: %v", err)
					return
				}
				if err := d.Invariant(); err != nil {
					t.Errorf("invariant after a task under faults: %v", err)
				}
			}
			var fs []*faulty.Adapter
			var fmu sync.Mutex
			exp := runClients(t, m, func(c int) adapters.Adapter {
				f := faulty.New(m, faulty.Options{
					Seed:             uint64(100*shards + c),
					ReadError:        0.05,
					WriteErrorBefore: 0.08,
					WriteErrorAfter:  0.08,
					WriteConflict:    0.08,
				})
				fmu.Lock()
				fs = append(fs, f)
				fmu.Unlock()
				return f
			}, 4, 40, uint64(shards)+7, during)
			for _, f := range fs {
				injected.Add(int64(f.Counts().Injected()))
			}
			if injected.Load() == 0 {
				t.Fatal("no fault was injected")
			}
			checkOutcome(t, decodeMem(t, m), exp)
		})
	}
}

func TestRandomConcurrentClientsLocalDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	a := localdir.New(dir, localdir.Options{})
	newStore(t, a, 3)
	exp := runClients(t, a, func(int) adapters.Adapter {
		return localdir.New(dir, localdir.Options{}) // one adapter per client, as separate processes would have
	}, 4, 25, 42, nil)
	blobs := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			blobs[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
		}
	}
	d, err := specdecode.Decode(blobs, "pass phrase")
	if err != nil {
		t.Fatal(err)
	}
	checkOutcome(t, d, exp)
}
