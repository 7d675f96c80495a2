// Package vaultsim checks the real engine under controlled schedules: every
// client's reads and writes are held at the adapter until a scheduler
// releases them one at a time, so a test can enumerate the interleavings of
// a small scenario, try seeded random ones of a larger one, crash a client
// after any request, and replay a failing schedule exactly.
//
// It runs inside a testing/synctest bubble: the scheduler chooses the next
// step only when every goroutine of every client is durably blocked (on a
// held request, on the task's own channels, or on a timer), so what happens
// between two steps is decided by the engine alone. Time is the bubble's
// fake clock, so back-offs cost nothing.
//
// Clients are independent vault.Store values over one memory store, each
// running its calls on one Task, so several calls of one client share a
// task's cache and plan (the same-task mixes that mv and import make).
package vaultsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault"
)

// Kind is what a call does.
type Kind int

const (
	Update  Kind = iota // set Path to Value
	Delete              // an update whose function returns nil
	Remove              // remove the document Path
	Prune               // remove everything below the directory Path
	Migrate             // move the store to Shards shards (Rotate: with new keys)
	Resume              // finish a migration another client started
	Reopen              // open the store again (a new process) and use a new task
	Batch               // Parts (updates and deletes) as one UpdateAll
)

func (k Kind) String() string {
	return [...]string{"update", "delete", "remove", "prune", "migrate", "resume", "reopen", "batch"}[k]
}

// Call is one engine call of a client.
type Call struct {
	Kind  Kind
	Path  string
	Value string // JSON, for Update
	// Shards and Rotate are Migrate's target.
	Shards int
	Rotate bool
	// WithPrevious lets the scheduler start this call while the client's
	// previous call is still running, on the same task.
	WithPrevious bool
	// Parts are a Batch's calls; each is checked as a call of its own.
	Parts []Call
}

// each is the calls that c makes: its parts for a batch, else itself.
func (c Call) each() []Call {
	if c.Kind == Batch {
		return c.Parts
	}
	return []Call{c}
}

func (c Call) String() string {
	switch c.Kind {
	case Update:
		return fmt.Sprintf("update(%s=%s)", c.Path, c.Value)
	case Migrate:
		if c.Rotate {
			return fmt.Sprintf("migrate(%d, new keys)", c.Shards)
		}
		return fmt.Sprintf("migrate(%d)", c.Shards)
	case Resume, Reopen:
		return c.Kind.String()
	case Batch:
		parts := make([]string, len(c.Parts))
		for i, p := range c.Parts {
			parts[i] = p.String()
		}
		return "batch(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%s(%s)", c.Kind, c.Path)
}

// Scenario is a starting store and the calls of each client.
type Scenario struct {
	Name    string
	Shards  int               // default 4
	Setup   map[string]string // documents written before the run: path -> JSON
	Clients [][]Call
	// Crashes is how many clients may crash in one schedule (their held
	// requests are dropped, never applied). LostReplies is how many writes
	// may land while their client is told they failed. Faults is how many
	// requests may fail with a transient error without touching the store.
	Crashes, LostReplies, Faults int
	// MaxConflicts is the engine's re-plan limit (default 3, to keep the
	// schedule space finite and small).
	MaxConflicts int
	// Window is the clients' BatchWindow (default: the engine's).
	Window int
	// Paths are the items whose shard placement matters; placements lists
	// the store seeds to try (see Placements).
	Paths []string
}

const passphrase = "pass phrase"

// action is one step the scheduler can take.
type action struct {
	key    string // stable identity: client, what, blob
	client int
	kind   actionKind
	blob   string
	write  bool
	req    *request
}

type actionKind int

const (
	actStart actionKind = iota
	actRelease
	actCrash
	actLose
	actFault
)

// independent reports whether two actions commute: steps of different
// clients touching different blobs, or both only reading. Starting a call
// or crashing affects only its own client.
func independent(a, b action) bool {
	if a.client == b.client {
		return false
	}
	if a.kind == actStart || a.kind == actCrash || b.kind == actStart || b.kind == actCrash {
		return true
	}
	return a.blob != b.blob || (!a.write && !b.write)
}

type request struct {
	client int
	write  bool
	blob   string
	data   []byte
	rev    adapters.Rev
	reply  chan reply
}

type reply struct {
	data []byte
	rev  adapters.Rev
	err  error
}

// errCrashed is what a crashed client's requests see: an authorisation
// failure ends its task at once, as a dead process would stop.
var errCrashed = fmt.Errorf("simulated crash: %w", adapters.ErrUnauthorized)

// world is one run: the shared store, the clients and the held requests.
type world struct {
	sc      *Scenario
	mem     *memory.Store
	mu      sync.Mutex
	pending []*request
	clients []*client
	step    int
}

type client struct {
	id      int
	opts    vault.Options
	store   *vault.Store
	task    *vault.Task
	next    int // next call to start
	calls   []*callState
	crashed bool
}

type callState struct {
	call       Call
	start, end int // steps; end -1 while running
	err        error
	done       bool
}

// adapter is a client's view of the store: every request waits for the
// scheduler.
type adapter struct {
	w    *world
	c    int
	free bool // requests go straight to the store (while opening)
}

func (a *adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if a.free {
		return a.w.mem.Read(ctx, id)
	}
	r := a.w.hold(&request{client: a.c, blob: id})
	return r.data, r.rev, r.err
}

func (a *adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	r := a.w.hold(&request{client: a.c, write: true, blob: id, data: data, rev: rev})
	return r.rev, r.err
}

func (w *world) hold(r *request) reply {
	r.reply = make(chan reply, 1)
	w.mu.Lock()
	if w.clients[r.client].crashed {
		w.mu.Unlock()
		return reply{err: errCrashed}
	}
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	return <-r.reply
}

// Outcome is what one schedule did.
type Outcome struct {
	Trace    []string // the actions taken, in order
	Choices  []int    // index chosen at each step among the enabled actions
	Enabled  [][]string
	Problems []string // invariant or linearizability violations, hangs
	GaveUp   int      // calls that failed with too many conflicts
	Steps    int
	Calls    string // every call with its outcome
}

// Chooser picks the next action among the enabled ones (sorted by key).
type Chooser func(step int, enabled []action) int

// run executes one schedule of sc on a store made from seed.
func run(t *testing.T, sc *Scenario, seed uint64, choose Chooser) *Outcome {
	out := &Outcome{}
	synctest.Test(t, func(t *testing.T) {
		runBubble(t, sc, seed, choose, out)
	})
	return out
}

// seededReader is a deterministic io.Reader, so that a seed fixes the
// store's keys and with them the shard placement of every path.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func newRand(seed uint64) seededReader {
	var k [32]byte
	for i := range 8 {
		k[i] = byte(seed >> (8 * i))
	}
	return seededReader{rand.NewChaCha8(k)}
}

func (sc *Scenario) shards() int {
	if sc.Shards == 0 {
		return 4
	}
	return sc.Shards
}

func (sc *Scenario) maxConflicts() int {
	if sc.MaxConflicts == 0 {
		return 3
	}
	return sc.MaxConflicts
}

// setup creates the store for seed and writes the scenario's documents.
func setup(sc *Scenario, seed uint64) (*memory.Store, error) {
	ctx := context.Background()
	mem := memory.New()
	opts := vault.Options{Rand: newRand(seed)}
	s, err := vault.Create(ctx, mem, []byte(passphrase), vault.CreateOptions{Options: opts, Shards: sc.shards(), Iterations: 1})
	if err != nil {
		return nil, err
	}
	task := s.NewTask(ctx)
	paths := make([]string, 0, len(sc.Setup))
	for p := range sc.Setup {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := task.Set(ctx, p, json.RawMessage(sc.Setup[p])); err != nil {
			return nil, fmt.Errorf("setup %s: %w", p, err)
		}
	}
	return mem, nil
}

func runBubble(t *testing.T, sc *Scenario, seed uint64, choose Chooser, out *Outcome) {
	// Calls run under ctx; a hang is reported, then ended by cancelling it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mem, err := setup(sc, seed)
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
		return
	}
	w := &world{sc: sc, mem: mem}
	for i := range sc.Clients {
		w.clients = append(w.clients, &client{id: i})
	}
	for i, c := range w.clients {
		// Opening reads the config straight from the store: the schedule
		// starts with every client open.
		a := &adapter{w: w, c: i, free: true}
		c.opts = vault.Options{Rand: newRand(seed + uint64(i) + 1), MaxConflicts: sc.maxConflicts(), Backoff: -1, BatchWindow: sc.Window, BatchWaves: 2}
		s, err := vault.Open(ctx, a, []byte(passphrase), c.opts)
		if err != nil {
			out.Problems = append(out.Problems, err.Error())
			return
		}
		a.free = false
		c.store, c.task = s, s.NewTask(ctx)
	}
	var wg sync.WaitGroup
	crashes, lost, faults := 0, 0, 0
	idle := 0
	for {
		synctest.Wait()
		w.mu.Lock()
		for _, c := range w.clients {
			for _, cs := range c.calls {
				if cs.done && cs.end < 0 {
					cs.end = w.step
				}
			}
		}
		acts := w.enabledLocked(crashes < sc.Crashes, lost < sc.LostReplies, faults < sc.Faults)
		w.mu.Unlock()
		if len(acts) == 0 {
			if w.allDone() {
				break
			}
			// Every client waits on a timer: let the fake clock run.
			idle++
			if idle > 10000 {
				out.Problems = append(out.Problems, "hang: a call never returned although no request is held")
				if os.Getenv("VAULTSIM_STACKS") != "" {
					buf := make([]byte, 1<<20)
					out.Problems = append(out.Problems, string(buf[:runtime.Stack(buf, true)]))
				}
				w.crashAll()
				cancel()
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		idle = 0
		keys := make([]string, len(acts))
		for i, a := range acts {
			keys[i] = a.key
		}
		i := choose(w.step, acts)
		a := acts[i]
		out.Choices = append(out.Choices, i)
		out.Enabled = append(out.Enabled, keys)
		out.Trace = append(out.Trace, a.key)
		w.step++
		if w.step > 5000 {
			out.Problems = append(out.Problems, "schedule longer than 5000 steps")
			w.crashAll()
			cancel()
			break
		}
		switch a.kind {
		case actStart:
			c := w.clients[a.client]
			call := sc.Clients[a.client][c.next]
			c.next++
			if call.Kind == Batch {
				var parts []*callState
				for _, p := range call.Parts {
					parts = append(parts, &callState{call: p, start: w.step, end: -1})
				}
				c.calls = append(c.calls, parts...)
				wg.Go(func() { w.batch(ctx, c, parts) })
				break
			}
			cs := &callState{call: call, start: w.step, end: -1}
			c.calls = append(c.calls, cs)
			wg.Go(func() {
				err := w.do(ctx, c, cs.call)
				w.mu.Lock()
				cs.err, cs.done = err, true
				w.mu.Unlock()
			})
		case actRelease, actLose:
			w.mu.Lock()
			w.pending = slices.DeleteFunc(w.pending, func(r *request) bool { return r == a.req })
			w.mu.Unlock()
			r := a.req
			if r.write {
				rev, err := mem.Write(ctx, r.blob, r.data, r.rev)
				if a.kind == actLose && err == nil {
					lost++
					err = fmt.Errorf("simulated lost reply: %w", adapters.ErrTransient)
				}
				r.reply <- reply{rev: rev, err: err}
			} else {
				data, rev, err := mem.Read(ctx, r.blob)
				r.reply <- reply{data: data, rev: rev, err: err}
			}
		case actCrash:
			crashes++
			w.crash(a.client)
		case actFault:
			faults++
			w.mu.Lock()
			w.pending = slices.DeleteFunc(w.pending, func(r *request) bool { return r == a.req })
			w.mu.Unlock()
			a.req.reply <- reply{err: fmt.Errorf("simulated fault: %w", adapters.ErrTransient)}
		}
	}
	wg.Wait()
	out.Steps = w.step
	for _, c := range w.clients {
		for _, cs := range c.calls {
			if cs.end < 0 {
				cs.end = w.step
			}
			if errors.Is(cs.err, vault.ErrTooManyConflicts) {
				out.GaveUp++
			}
		}
	}
	out.Problems = append(out.Problems, check(w)...)
	out.Calls = callsSummary(w)
}

// enabledLocked lists the actions possible now, sorted by key.
func (w *world) enabledLocked(mayCrash, mayLose, mayFail bool) []action {
	var acts []action
	for _, c := range w.clients {
		if c.crashed {
			continue
		}
		calls := w.sc.Clients[c.id]
		if c.next < len(calls) {
			prevDone := len(c.calls) == 0 || c.calls[len(c.calls)-1].done
			if prevDone || calls[c.next].WithPrevious {
				acts = append(acts, action{key: fmt.Sprintf("c%d:start:%d", c.id, c.next), client: c.id, kind: actStart})
			}
		}
	}
	seen := map[string]int{}
	for _, r := range w.pending {
		verb := "read"
		if r.write {
			verb = "write"
		}
		key := fmt.Sprintf("c%d:%s:%s", r.client, verb, r.blob)
		seen[key]++
		if n := seen[key]; n > 1 {
			key += fmt.Sprintf("#%d", n)
		}
		acts = append(acts, action{key: key, client: r.client, kind: actRelease, blob: r.blob, write: r.write, req: r})
		if r.write && mayLose {
			acts = append(acts, action{key: key + ":lost", client: r.client, kind: actLose, blob: r.blob, write: true, req: r})
		}
		if mayFail {
			acts = append(acts, action{key: key + ":fault", client: r.client, kind: actFault, blob: r.blob, write: r.write, req: r})
		}
	}
	if mayCrash {
		for _, c := range w.clients {
			started := len(c.calls) > 0
			if !c.crashed && started && !c.finished(w.sc) {
				acts = append(acts, action{key: fmt.Sprintf("c%d:crash", c.id), client: c.id, kind: actCrash})
			}
		}
	}
	sort.Slice(acts, func(i, j int) bool { return acts[i].key < acts[j].key })
	return acts
}

func (c *client) finished(sc *Scenario) bool {
	if c.next < len(sc.Clients[c.id]) {
		return false
	}
	for _, cs := range c.calls {
		if !cs.done {
			return false
		}
	}
	return true
}

func (w *world) allDone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.clients {
		for _, cs := range c.calls {
			if !cs.done {
				return false
			}
		}
		if !c.crashed && c.next < len(w.sc.Clients[c.id]) {
			return false
		}
	}
	return true
}

// crash stops a client: its held requests are answered with an error
// without touching the store, like a process killed before they left it.
func (w *world) crash(i int) {
	w.mu.Lock()
	w.clients[i].crashed = true
	var mine []*request
	w.pending = slices.DeleteFunc(w.pending, func(r *request) bool {
		if r.client == i {
			mine = append(mine, r)
			return true
		}
		return false
	})
	w.mu.Unlock()
	for _, r := range mine {
		r.reply <- reply{err: errCrashed}
	}
}

func (w *world) crashAll() {
	for i := range w.clients {
		w.crash(i)
	}
}

func (w *world) do(ctx context.Context, cl *client, c Call) error {
	w.mu.Lock()
	store, task := cl.store, cl.task
	w.mu.Unlock()
	switch c.Kind {
	case Migrate:
		_, err := store.Migrate(ctx, vault.MigrateOptions{Shards: c.Shards, RotateKeys: c.Rotate,
			Passphrase: []byte(passphrase), Now: simClock})
		return err
	case Resume:
		_, err := store.ResumeMigration(ctx, []byte(passphrase))
		return err
	case Reopen:
		s, err := vault.Open(ctx, &adapter{w: w, c: cl.id}, []byte(passphrase), cl.opts)
		if err != nil {
			return err
		}
		w.mu.Lock()
		cl.store, cl.task = s, s.NewTask(ctx)
		w.mu.Unlock()
		return nil
	}
	switch c.Kind {
	case Update:
		return task.Set(ctx, c.Path, json.RawMessage(c.Value))
	case Delete:
		return task.Update(ctx, c.Path, func(json.RawMessage) (json.RawMessage, error) { return nil, nil })
	case Remove:
		return task.Remove(ctx, c.Path)
	case Prune:
		return task.Prune(ctx, c.Path)
	}
	return fmt.Errorf("unknown call kind %d", c.Kind)
}

// batch runs a Batch's parts as one UpdateAll on the client's task; each
// part ends with the batch, with its own outcome.
func (w *world) batch(ctx context.Context, cl *client, parts []*callState) {
	w.mu.Lock()
	task := cl.task
	w.mu.Unlock()
	paths := make([]string, len(parts))
	for i, cs := range parts {
		paths[i] = cs.call.Path
	}
	errs := task.UpdateAll(ctx, paths, func(i int) vault.UpdateFunc {
		c := parts[i].call
		return func(json.RawMessage) (json.RawMessage, error) {
			if c.Kind == Delete {
				return nil, nil
			}
			return json.RawMessage(c.Value), nil
		}
	})
	w.mu.Lock()
	for i, cs := range parts {
		cs.err, cs.done = errs[i], true
	}
	w.mu.Unlock()
}

// simClock is the migrations' clock: a fixed time keeps schedules
// replayable.
func simClock() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) }

// describe renders a schedule for a failure message.
func describe(o *Outcome) string {
	return strings.Join(o.Trace, "\n    ")
}
