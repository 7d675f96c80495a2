package remotestorage_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
	"github.com/vaultdb/vaultdb/vault"
)

var pass = []byte("pass phrase")

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// clientOn returns a new adapter (a client of its own) on st's folder.
func clientOn(t *testing.T, st *rstest.Store) adapters.Adapter {
	t.Helper()
	opts := st.Options()
	opts.Retry.InitialBackoff = 5 * time.Millisecond
	a, err := remotestorage.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// outcomes tracks, per document, the values the final store may show:
// after an acknowledged operation exactly its result; after a failed one,
// the value before it or its own ("" = absent).
type outcomes struct {
	mu      sync.Mutex
	allowed map[string][]string
}

func (o *outcomes) record(path, v string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil {
		o.allowed[path] = []string{v}
	} else if !slices.Contains(o.allowed[path], v) {
		o.allowed[path] = append(o.allowed[path], v)
	}
}

// TestEngineRandomClients runs several engine clients, each with its own
// adapter, on one folder of each real server, doing random set, remove and
// prune tasks on shared directories; then checks with a fresh client that
// every document is reachable (its ancestors exist and list it) and holds
// an allowed value.
func TestEngineRandomClients(t *testing.T) {
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			for _, tc := range []struct {
				clients, shards int
				seed            uint64
			}{{3, 1, 1}, {3, 3, 2}} {
				t.Run(fmt.Sprintf("%dclients-%dshards", tc.clients, tc.shards), func(t *testing.T) {
					runClients(t, rstest.Get(t, k).NewStore(t, ""), tc.clients, tc.shards, 12, tc.seed)
				})
			}
		})
	}
}

func runClients(t *testing.T, st *rstest.Store, clients, shards, tasks int, seed uint64) {
	if _, err := vault.Create(ctx, clientOn(t, st), pass, vault.CreateOptions{Shards: shards, Iterations: 1000}); err != nil {
		t.Fatal(err)
	}
	exp := &outcomes{allowed: map[string][]string{}}
	docPath := func(c, i, j int) string {
		if i == 3 {
			return fmt.Sprintf("/top-c%d-%d", c, j)
		}
		return fmt.Sprintf("/s%d/shared/c%d/d%d", i, c, j)
	}
	var universe []string
	for c := range clients {
		for i := range 4 {
			for j := range 3 {
				universe = append(universe, docPath(c, i, j))
			}
		}
	}

	var wg sync.WaitGroup
	for c := range clients {
		a := clientOn(t, st)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			s, err := vault.Open(ctx, a, pass, vault.Options{Backoff: time.Millisecond})
			if err != nil {
				t.Errorf("client %d: open: %v", c, err)
				return
			}
			for k := range tasks {
				task := s.NewTask(ctx)
				var tw sync.WaitGroup
				used := map[int]bool{}
				for n := 1 + rng.IntN(4); n > 0; n-- {
					i := rng.IntN(4)
					if used[i] {
						continue
					}
					used[i] = true
					r, j, v := rng.IntN(10), rng.IntN(3), rng.IntN(1000)
					tw.Go(func() {
						var err error
						var what string
						switch {
						case r < 6:
							p, val := docPath(c, i, j), fmt.Sprintf("c%d-t%d-%d", c, k, v)
							what = "set " + p
							err = task.Set(ctx, p, jsonString(val))
							exp.record(p, val, err)
						case r < 9 || i == 3:
							p := docPath(c, i, j)
							what = "remove " + p
							err = task.Remove(ctx, p)
							exp.record(p, "", err)
						default:
							dir := fmt.Sprintf("/s%d/shared/c%d/", i, c)
							what = "prune " + dir
							err = task.Prune(ctx, dir)
							for j := range 3 {
								exp.record(docPath(c, i, j), "", err)
							}
						}
						if err != nil && !errors.Is(err, vault.ErrTooManyConflicts) {
							t.Errorf("client %d: %s: %v", c, what, err)
						}
					})
				}
				tw.Wait()
			}
		})
	}
	wg.Wait()

	s, err := vault.Open(ctx, clientOn(t, st), pass, vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := s.NewTask(ctx)
	found, err := task.Find(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range found {
		if !slices.Contains(universe, p) {
			t.Errorf("unexpected document %s", p)
		}
	}
	exp.mu.Lock()
	defer exp.mu.Unlock()
	for _, p := range universe {
		got := ""
		v, err := task.Get(ctx, p)
		switch {
		case errors.Is(err, vault.ErrNotFound):
		case err != nil:
			t.Fatalf("get %s: %v", p, err)
		default:
			if err := json.Unmarshal(v, &got); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			// Safety invariant: every ancestor lists the next name.
			segs := strings.Split(p[1:], "/")
			dir := "/"
			for i, seg := range segs {
				name := seg
				if i < len(segs)-1 {
					name += "/"
				}
				names, err := task.List(ctx, dir)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(names, name) {
					t.Errorf("safety invariant broken: document %s: directory %s does not list %q (lists %q)", p, dir, name, names)
				}
				dir += name
			}
			if !slices.Contains(found, p) {
				t.Errorf("document %s exists but Find does not reach it", p)
			}
		}
		allowed, ok := exp.allowed[p]
		if !ok {
			allowed = []string{""}
		}
		if !slices.Contains(allowed, got) {
			t.Errorf("%s = %q, allowed %q", p, got, allowed)
		}
	}
}

// TestEngineReadsRacingWrites: through the engine, on armadietto, no read
// of an existing entry racing writes of its shard says "no such entry" or
// "damaged" (make bench measures the same without the torn-read check).
func TestEngineReadsRacingWrites(t *testing.T) {
	st := rstest.Get(t, rstest.Armadietto).NewStore(t, "")
	res, err := rstest.ReadsRacingWrites(ctx, func() (adapters.Adapter, error) { return clientOn(t, st), nil }, 2000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("armadietto: %v", res)
	if res.Writes == 0 {
		t.Fatal("no write completed while the reads ran")
	}
	if res.Bad() > 0 {
		t.Fatalf("%v; first: %v", res, res.FirstErr)
	}
}
