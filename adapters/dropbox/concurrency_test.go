package dropbox_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/vault"
)

// outcomes tracks, per document, the values the final store may show: after
// an acknowledged operation exactly its result; after a failed one, the
// value before it or its own ("" = absent).
type outcomes struct {
	mu      sync.Mutex
	allowed map[string][]string
}

func (o *outcomes) record(path, v string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.allowed[path]; !ok {
		o.allowed[path] = []string{""}
	}
	if err == nil {
		o.allowed[path] = []string{v}
	} else if !slices.Contains(o.allowed[path], v) {
		o.allowed[path] = append(o.allowed[path], v)
	}
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// TestRandomConcurrentClients runs several engine clients, each with its own
// adapter (and token) on one fake Dropbox that injects 429s, 5xx, 409
// too_many_write_operations, dropped responses and token expiry, doing
// random set/remove/prune tasks on shared directories; then checks with a
// fresh client that every document is reachable (its ancestors exist and
// list it) and holds an allowed value.
func TestRandomConcurrentClients(t *testing.T) {
	for _, tc := range []struct {
		clients, shards int
		seed            uint64
	}{{2, 1, 1}, {3, 3, 2}, {3, 4, 3}} {
		t.Run(fmt.Sprintf("%dclients-%dshards", tc.clients, tc.shards), func(t *testing.T) {
			runClients(t, clientsRun{clients: tc.clients, shards: tc.shards, tasks: 20, seed: tc.seed, faults: true, backoff: time.Millisecond})
		})
	}
}

// TestRandomClientsWriteLock runs the random clients against the fake's
// model of Dropbox's namespace write lock, with latency: four clients on a
// store of 16 shards, whose tasks send several uploads at once. Each client
// is built as the command line builds it (the adapter making single
// attempts, composed with a retry layer by package stack), with real waits.
// No operation may fail: the store must absorb the lock's refusals. Before
// the store bounded its writes in flight and jittered its waits on top of
// Retry-After, operations gave up after five attempts.
//
// The clients share directories on purpose, so they also race each other's
// compare-and-swaps on the same shards; the engine's defaults are used.
func TestRandomClientsWriteLock(t *testing.T) {
	t.Parallel() // mostly waiting out Retry-After
	runClients(t, clientsRun{clients: 4, shards: 16, tasks: 5, seed: 4, strict: true,
		ns: dropboxtest.Namespace{Latency: 20 * time.Millisecond, LockWait: 40 * time.Millisecond}})
}

type clientsRun struct {
	clients, shards, tasks int
	seed                   uint64
	// faults turns on the fake's random faults; then transient failures
	// and too many conflicts are expected outcomes.
	faults bool
	// ns, if set, turns on the write-lock model, and the clients use the
	// stack with real waits.
	ns dropboxtest.Namespace
	// strict makes every failed operation an error of the test.
	strict bool
	// width is how many directories a client's documents are spread over,
	// and at most how many operations one task runs at once; default 4.
	width int
	// backoff is the engine's back-off between re-plans after a conflict;
	// 0 means the engine's default. maxConflicts likewise.
	backoff      time.Duration
	maxConflicts int
}

// stackClient returns a client adapter built as the command line builds
// one: single attempts, in the stack with the default retry policy.
func stackClient(t *testing.T, srv *dropboxtest.Server, root string) adapters.Adapter {
	e := newEnvOn(t, srv, root, func(o *dropbox.Options) { o.SingleAttempt = true })
	return stack.Build(e.a, stack.Options{Retry: &retry.Options{}})
}

func runClients(t *testing.T, run clientsRun) {
	const root = "/Apps/VaultDB Tresor"
	clients, shards, tasks, seed := run.clients, run.shards, run.tasks, run.seed
	width := run.width
	if width == 0 {
		width = 4
	}
	pass := []byte("pass phrase")
	srv := dropboxtest.NewServer(t)
	setup := newEnvOn(t, srv, root)
	if _, err := vault.Create(ctx, setup.a, pass, vault.CreateOptions{Shards: shards, Iterations: 1000}); err != nil {
		t.Fatal(err)
	}
	as := make([]adapters.Adapter, clients)
	for c := range as {
		if run.ns != (dropboxtest.Namespace{}) {
			as[c] = stackClient(t, srv, root)
		} else {
			as[c] = newEnvOn(t, srv, root).a
		}
	}
	if run.faults {
		srv.SetRandomFaults(dropboxtest.RandomFaults{Seed: seed, RateLimit: 0.06, ServerError: 0.04,
			TooManyWriteOps: 0.06, Drop: 0.04, ExpireToken: 0.02})
	}
	srv.SetNamespace(run.ns)
	start := time.Now()
	var failed atomic.Int64

	exp := &outcomes{allowed: map[string][]string{}}
	docPath := func(c, i, j int) string {
		if i == width-1 {
			return fmt.Sprintf("/top-c%d-%d", c, j)
		}
		return fmt.Sprintf("/s%d/shared/c%d/d%d", i, c, j)
	}
	var universe []string
	for c := range clients {
		for i := range width {
			for j := range 3 {
				universe = append(universe, docPath(c, i, j))
			}
		}
	}
	expected := func(err error) bool {
		return !run.strict && (errors.Is(err, adapters.ErrTransient) || errors.Is(err, vault.ErrTooManyConflicts))
	}

	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			s, err := vault.Open(ctx, as[c], pass, vault.Options{Backoff: run.backoff, MaxConflicts: run.maxConflicts})
			if err != nil {
				t.Errorf("client %d: open: %v", c, err)
				return
			}
			for k := range tasks {
				task := s.NewTask(ctx)
				var tw sync.WaitGroup
				used := map[int]bool{}
				for n := 1 + rng.IntN(width); n > 0; n-- {
					i := rng.IntN(width)
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
						case r < 9 || i == width-1:
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
						if err != nil {
							failed.Add(1)
						}
						if err != nil && !expected(err) {
							t.Errorf("client %d: %s: unexpected error %v", c, what, err)
						}
					})
				}
				tw.Wait()
			}
		})
	}
	wg.Wait()
	srv.SetRandomFaults(dropboxtest.RandomFaults{})
	srv.SetNamespace(dropboxtest.Namespace{})
	st := srv.Stats()
	if run.faults && st.Faults == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%s: requests %v, faults %d, conflicts %d, refreshes %d, lock refusals 429/409 %d/%d, most uploads at once %d, failed operations %d",
		time.Since(start).Round(time.Millisecond), st.Requests, st.Faults, st.Conflicts, st.Refreshes,
		st.LockRefused429, st.LockRefused409, st.MaxUploads, failed.Load())

	// Decode the fake's files with a fresh client.
	check := newEnvOn(t, srv, root)
	s, err := vault.Open(ctx, check.a, pass, vault.Options{})
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
