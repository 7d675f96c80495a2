package vault

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// Task is a short-lived unit of work on a store (design §4). It caches shard
// reads: each shard is read at most once per task (again only after a
// conflict or a failed write made the cached copy unreliable), a call that
// needs a shard being read waits for that read, and reads of different
// shards run in parallel. Writes of all calls in flight are planned
// together by one scheduler.
//
// A Task is safe for use by many goroutines at once. Its I/O runs under the
// context it was created with; each call's context only bounds how long
// that call waits.
type Task struct {
	s   *Store
	ctx context.Context

	mu        sync.Mutex
	slots     map[int]*slot
	plan      *sched.Plan[*change]
	preparing int            // write calls still loading or planning
	writers   map[string]int // item path -> unwritten changes that write into it
	turns     map[string]chan struct{}
	live      map[*op]bool  // write calls not yet returned
	settled   chan struct{} // closed (and replaced) whenever a write ends
	seq       uint64        // counts completed reads and writes, for proofs
	followUps map[*sched.Group[*change]][]followUp
	fatal     error // an authorisation failure ends the task
	stats     Stats
}

// Stats counts what a task did; for tests and benchmarks.
type Stats struct {
	Reads     int // shard read requests
	Writes    int // shard write requests
	Skipped   int // groups that changed nothing and were not written
	Conflicts int
	Replans   int
	// N and D of the task's write plan so far (design §6).
	N, D int
	// Preparing is the number of write calls loading or planning right now.
	Preparing int
	// LargestShard is the most items any shard the task read holds: a get
	// reads and decrypts the index of that many paths.
	LargestShard int
}

// NewTask starts a task. Its I/O runs under ctx.
func (s *Store) NewTask(ctx context.Context) *Task {
	return &Task{s: s, ctx: ctx, slots: map[int]*slot{}, plan: sched.New[*change](),
		writers: map[string]int{}, turns: map[string]chan struct{}{},
		live: map[*op]bool{}, settled: make(chan struct{}),
		followUps: map[*sched.Group[*change]][]followUp{}}
}

// Stats returns the task's counters.
func (t *Task) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats
	st.N, st.D = t.plan.N(), t.plan.D()
	st.Preparing = t.preparing
	for _, sl := range t.slots {
		if sl.loaded && sl.state != nil {
			st.LargestShard = max(st.LargestShard, sl.state.Len())
		}
	}
	return st
}

// Get returns the value of the document at path, or an error matching
// ErrNotFound. Only the shard's index and that one item are decrypted.
func (t *Task) Get(ctx context.Context, path string) (json.RawMessage, error) {
	if err := format.CheckDoc(path); err != nil {
		return nil, err
	}
	st, err := t.shardFor(ctx, path)
	if err != nil {
		return nil, &OpError{"get", path, err}
	}
	v, ok, err := st.Get(path)
	if err != nil {
		return nil, &OpError{"get", path, err}
	}
	if !ok {
		return nil, &NotFoundError{path}
	}
	return v, nil
}

// Window is how many calls of one batch run at once on a task: Each and
// GetAll run Window at a time, UpdateAll and RemoveAll plan waves of
// twice Window calls or more (batchWindow). Calls in flight together are planned
// together, so a batch of up to Window documents costs the same rounds as
// one call; a larger one runs in waves, with memory and goroutines bounded
// instead of growing with the batch (one goroutine per entry made an
// import of 100,000 entries peak at 1.2 GB). At 1,024 an import of 2,000
// entries took two waves and wrote each shard up to 9 times.
const Window = 4096

// Each runs call(i) for every i in [0, n), at most Window at a time, and
// returns the errors by index. call makes its own calls on the task; it is
// the batch form for callers with more to do per entry than one update.
func (t *Task) Each(n int, call func(i int) error) []error {
	errs := make([]error, n)
	// Whole waves rather than a stream: calls started together are
	// planned together, so each wave costs the rounds of one call, where a
	// stream of calls each planned as a slot frees up wrote every shard
	// again and again.
	for start := 0; start < n; start += Window {
		var wg sync.WaitGroup
		for i := start; i < min(n, start+Window); i++ {
			wg.Go(func() { errs[i] = call(i) })
		}
		wg.Wait()
	}
	return errs
}

// GetAll reads many documents at once: the calls share the task cache, so
// each shard is read at most once and all in parallel. The i-th value and
// error belong to paths[i]; a missing document has an ErrNotFound error.
func (t *Task) GetAll(ctx context.Context, paths []string) ([]json.RawMessage, []error) {
	vals := make([]json.RawMessage, len(paths))
	errs := t.Each(len(paths), func(i int) (err error) {
		vals[i], err = t.Get(ctx, paths[i])
		return err
	})
	return vals, errs
}

// UpdateAll updates many documents in one batch: fn(i) is the update of
// paths[i], and the i-th error is its outcome. Writes of calls in flight
// together are planned together (see Window). fn and the functions it
// returns must not call the task: the batch's writes wait for them.
func (t *Task) UpdateAll(ctx context.Context, paths []string, fn func(i int) UpdateFunc) []error {
	return t.UpdateEach(ctx, paths, fn, nil)
}

// UpdateEach is UpdateAll that also calls done(i, err) as the update of
// paths[i] ends, for progress; done is called from many goroutines at once.
func (t *Task) UpdateEach(ctx context.Context, paths []string, fn func(i int) UpdateFunc, done func(i int, err error)) []error {
	return t.batch(ctx, paths, func(i int) *op { return &op{kind: opUpdate, path: paths[i], fn: fn(i)} }, done)
}

// RemoveAll removes many documents in one batch; the i-th error is the
// outcome for paths[i]. Directories that empty go with them.
func (t *Task) RemoveAll(ctx context.Context, paths []string) []error {
	return t.batch(ctx, paths, func(i int) *op { return &op{kind: opRemove, path: paths[i]} }, nil)
}

// List returns the sorted names of a directory's children ("name" for a
// document, "name/" for a directory); empty for a missing directory.
func (t *Task) List(ctx context.Context, dir string) ([]string, error) {
	if err := format.CheckDir(dir); err != nil {
		return nil, err
	}
	st, err := t.shardFor(ctx, dir)
	if err != nil {
		return nil, &OpError{"list", dir, err}
	}
	names, err := listing(st, dir)
	if err != nil {
		return nil, &OpError{"list", dir, err}
	}
	return names, nil
}

// Find returns every document path below dir, recursively, sorted.
// Children of a directory are listed in parallel once its listing is known.
func (t *Task) Find(ctx context.Context, dir string) ([]string, error) {
	if err := format.CheckDir(dir); err != nil {
		return nil, err
	}
	docs, _, err := t.walkLevels(ctx, dir)
	if err != nil {
		return nil, &OpError{"find", dir, err}
	}
	return docs, nil
}

// UpdateFunc computes a document's new value from its current one. old is
// nil when the document does not exist; returning nil removes it. It may be
// called more than once (after a conflict), so it must not have side
// effects.
type UpdateFunc func(old json.RawMessage) (json.RawMessage, error)

// Update sets the document at path to fn(current value). It returns once
// the change is durably written, or fails; the store stays safe either way.
func (t *Task) Update(ctx context.Context, path string, fn UpdateFunc) error {
	if err := format.CheckDoc(path); err != nil {
		return err
	}
	return t.run(ctx, &op{kind: opUpdate, path: path, fn: fn})
}

// relink re-writes the document at path with its own value and links every
// edge above it, for Repair: a plain update of an existing document writes
// only the document.
func (t *Task) relink(ctx context.Context, path string) error {
	if err := format.CheckDoc(path); err != nil {
		return err
	}
	return t.run(ctx, &op{kind: opUpdate, path: path, relink: true,
		fn: func(old json.RawMessage) (json.RawMessage, error) { return old, nil }})
}

// Set is Update with a constant value.
func (t *Task) Set(ctx context.Context, path string, value json.RawMessage) error {
	return t.Update(ctx, path, func(json.RawMessage) (json.RawMessage, error) { return value, nil })
}

// Remove deletes the document at path (nothing happens if it does not
// exist), and the directories that become empty.
func (t *Task) Remove(ctx context.Context, path string) error {
	if err := format.CheckDoc(path); err != nil {
		return err
	}
	return t.run(ctx, &op{kind: opRemove, path: path})
}

// Prune deletes everything below dir, and dir itself.
func (t *Task) Prune(ctx context.Context, dir string) error {
	if err := format.CheckDir(dir); err != nil {
		return err
	}
	return t.run(ctx, &op{kind: opPrune, path: dir})
}
