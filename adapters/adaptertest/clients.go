package adaptertest

import (
	"context"
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
	"github.com/vaultdb/vaultdb/internal/specdecode"
	"github.com/vaultdb/vaultdb/vault"
)

// Clients is one run of the multi-client engine suite (RunClients): several
// engine clients, each with a Store of its own on an adapter of its own,
// doing random set, remove and prune tasks on one store. Every client owns
// its documents, but all share the directories above them, so the links
// and unlinks of shared directories race.
type Clients struct {
	// Client returns client c's adapter on the shared store; c is -1 for
	// the adapter that creates the store and the one that checks it.
	Client func(t *testing.T, c int) adapters.Adapter
	// Clients, Shards and Tasks: how many clients, the store's shards,
	// and the tasks each client runs one after another.
	Clients, Shards, Tasks int
	// Seed makes the operations replayable (not their interleaving).
	Seed uint64
	// Width is how many directories a client's documents are spread over,
	// and at most how many operations one task runs at once; default 4.
	Width int
	// Options are the clients' engine options (Backoff, MaxConflicts).
	Options vault.Options
	// Expected reports the errors an operation may end with (the faults a
	// store injects); any other error fails the test. nil: only
	// vault.ErrTooManyConflicts.
	Expected func(error) bool
	// Blobs, if set, returns every blob of the store. The final store is
	// then also decoded by the independent decoder (internal/specdecode),
	// which checks the safety invariant on the files themselves.
	Blobs func(t *testing.T) map[string][]byte
	// Start, if set, runs once the store is created, before the clients
	// (to turn a fake's faults on); Stop once they are done, before the
	// checks.
	Start, Stop func()
	// Snapshots, with Blobs, also checks the invariant after every task
	// of every client, while the others run (for stores whose Blobs is a
	// consistent snapshot).
	Snapshots bool
}

// ClientsResult is what a run did.
type ClientsResult struct {
	Operations, Failed int64
	Snapshots          int
}

const clientsPass = "pass phrase"

// callBound bounds one operation of a run: far above what any takes (tens of
// milliseconds), far below the test binary's 10-minute timeout.
const callBound = 2 * time.Minute

// RunClients creates a store through run.Client(t, -1), runs the clients,
// and checks with a fresh client that every document is reachable (each
// ancestor lists the next name, Find reaches it) and holds a value the
// operations allow: after an acknowledged operation exactly its result,
// after a failed one the value before it or its own.
func RunClients(t *testing.T, run Clients) ClientsResult {
	t.Helper()
	ctx := context.Background()
	width := run.Width
	if width == 0 {
		width = 4
	}
	expected := run.Expected
	if expected == nil {
		expected = func(err error) bool { return errors.Is(err, vault.ErrTooManyConflicts) }
	}
	if _, err := vault.Create(ctx, run.Client(t, -1), []byte(clientsPass), vault.CreateOptions{Shards: run.Shards, Iterations: 1000}); err != nil {
		t.Fatal(err)
	}
	docPath := func(c, i, j int) string {
		if i == width-1 {
			return fmt.Sprintf("/top-c%d-%d", c, j)
		}
		return fmt.Sprintf("/s%d/shared/c%d/d%d", i, c, j)
	}
	exp := &outcomes{allowed: map[string][]string{}}
	for c := range run.Clients {
		for i := range width {
			for j := range 3 {
				exp.allowed[docPath(c, i, j)] = []string{""}
			}
		}
	}
	var res ClientsResult
	var ops, failed atomic.Int64
	var snapMu sync.Mutex
	snapshot := func() {
		if !run.Snapshots || run.Blobs == nil {
			return
		}
		snapMu.Lock()
		defer snapMu.Unlock()
		d, err := specdecode.Decode(run.Blobs(t), clientsPass)
		if err != nil {
			t.Errorf("mid-run snapshot: %v", err)
			return
		}
		if err := d.Invariant(); err != nil {
			t.Errorf("safety invariant broken between tasks: %v", err)
		}
		res.Snapshots++
	}

	as := make([]adapters.Adapter, run.Clients)
	for c := range as {
		as[c] = run.Client(t, c)
	}
	if run.Start != nil {
		run.Start()
	}
	var wg sync.WaitGroup
	for c := range run.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(run.Seed, uint64(c)))
			s, err := vault.Open(ctx, as[c], []byte(clientsPass), run.Options)
			// A store that injects faults may fail the opening too.
			for try := 0; err != nil && expected(err) && try < 10; try++ {
				s, err = vault.Open(ctx, as[c], []byte(clientsPass), run.Options)
			}
			if err != nil {
				t.Errorf("client %d: open: %v", c, err)
				return
			}
			for k := range run.Tasks {
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
						// A call that never returns is an engine liveness bug;
						// fail it after a bound instead of hanging the run.
						ctx, cancel := context.WithTimeout(ctx, callBound)
						defer cancel()
						var err error
						var what string
						switch {
						case r < 6:
							p, val := docPath(c, i, j), fmt.Sprintf("c%d-t%d-%d", c, k, v)
							what = "set " + p
							b, _ := json.Marshal(val)
							err = task.Set(ctx, p, b)
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
						ops.Add(1)
						if ctx.Err() != nil {
							t.Errorf("client %d: %s did not finish within %v (an engine liveness bug: the call waits for a wake-up no one sends): %v", c, what, callBound, err)
							return
						}
						if err != nil {
							failed.Add(1)
							if !expected(err) {
								t.Errorf("client %d: %s: unexpected error %v", c, what, err)
							}
						}
					})
				}
				tw.Wait()
				snapshot()
			}
		})
	}
	wg.Wait()
	if run.Stop != nil {
		run.Stop()
	}
	res.Operations, res.Failed = ops.Load(), failed.Load()
	if t.Failed() {
		return res
	}
	exp.check(t, run.Client(t, -1))
	if run.Blobs != nil {
		d, err := specdecode.Decode(run.Blobs(t), clientsPass)
		if err != nil {
			t.Fatalf("the independent decoder cannot read the final store: %v", err)
		}
		if err := d.Invariant(); err != nil {
			t.Fatalf("safety invariant broken (independent decoder): %v", err)
		}
		exp.checkDocs(t, d.Docs)
	}
	if run.Snapshots && run.Blobs != nil && res.Snapshots == 0 {
		t.Error("no mid-run snapshot was checked")
	}
	return res
}

// outcomes tracks, per document, the values the final store may show
// ("" = absent).
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

// check reads the final store through the engine on a fresh client.
func (o *outcomes) check(t *testing.T, a adapters.Adapter) {
	t.Helper()
	ctx := context.Background()
	s, err := vault.Open(ctx, a, []byte(clientsPass), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := s.NewTask(ctx)
	found, err := task.Find(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range found {
		if _, ok := o.allowed[p]; !ok {
			t.Errorf("unexpected document %s", p)
		}
	}
	docs := map[string]json.RawMessage{}
	for p := range o.allowed {
		v, err := task.Get(ctx, p)
		switch {
		case errors.Is(err, vault.ErrNotFound):
			continue
		case err != nil:
			t.Fatalf("get %s: %v", p, err)
		}
		docs[p] = v
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
	o.checkDocsLocked(t, docs)
}

// checkDocs compares the documents a store holds with the allowed values.
func (o *outcomes) checkDocs(t *testing.T, docs map[string]json.RawMessage) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checkDocsLocked(t, docs)
}

func (o *outcomes) checkDocsLocked(t *testing.T, docs map[string]json.RawMessage) {
	t.Helper()
	for p := range docs {
		if _, ok := o.allowed[p]; !ok {
			t.Errorf("unexpected document %s", p)
		}
	}
	for p, allowed := range o.allowed {
		got := ""
		if v, ok := docs[p]; ok {
			if err := json.Unmarshal(v, &got); err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
		}
		if !slices.Contains(allowed, got) {
			t.Errorf("%s = %q, allowed %q", p, got, allowed)
		}
	}
}
