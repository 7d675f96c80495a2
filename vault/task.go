package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// Task is a short-lived unit of work on a store (spec §4). It caches shard
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
	plan      *sched.Plan
	preparing int            // write calls still loading or planning
	writers   map[string]int // item path -> unwritten changes that write into it
	turns     map[string]chan struct{}
	live      map[*op]bool  // write calls not yet returned
	settled   chan struct{} // closed (and replaced) whenever a write ends
	seq       uint64        // counts completed reads and writes, for proofs
	followUps map[*sched.Group][]followUp
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
	// N and D of the task's write plan so far (spec §6).
	N, D int
	// Preparing is the number of write calls loading or planning right now.
	Preparing int
}

// slot is the task's view of one shard.
type slot struct {
	blob    string
	loading chan struct{} // non-nil while a read is in flight
	loaded  bool
	stale   bool  // a write conflicted or failed: re-read before use
	err     error // a permanent read failure (damaged shard)
	readErr error // the last transient read failure, for the callers waiting
	state   *format.Shard
	rev     adapters.Rev
	version uint64 // bumped whenever state changes
	// readSeq is when state was last read from the store; wroteSeq when
	// this task last wrote it (0: not since the read). A name may be
	// dropped from a directory on the strength of this shard's state only
	// if a write proved it after the directory's shard was read (see
	// proofLocked).
	readSeq, wroteSeq uint64
	// lists caches the directory listings decoded from state while version
	// is listsVersion, for planning (see Task.listingLocked).
	lists        map[string][]string
	listsVersion uint64
}

// NewTask starts a task. Its I/O runs under ctx.
func (s *Store) NewTask(ctx context.Context) *Task {
	return &Task{s: s, ctx: ctx, slots: map[int]*slot{}, plan: sched.New(),
		writers: map[string]int{}, turns: map[string]chan struct{}{},
		live: map[*op]bool{}, settled: make(chan struct{}),
		followUps: map[*sched.Group][]followUp{}}
}

// Stats returns the task's counters.
func (t *Task) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats
	st.N, st.D = t.plan.N(), t.plan.D()
	st.Preparing = t.preparing
	return st
}

func (t *Task) slotLocked(i int) *slot {
	sl := t.slots[i]
	if sl == nil {
		sl = &slot{blob: t.s.router.BlobID(i)}
		t.slots[i] = sl
	}
	return sl
}

// load makes sure every listed shard is loaded and fresh, reading those
// that are not, in parallel, and waiting for reads already in flight.
func (t *Task) load(ctx context.Context, shards []int) error {
	for {
		var wait []chan struct{}
		t.mu.Lock()
		if t.fatal != nil {
			t.mu.Unlock()
			return t.fatal
		}
		for _, i := range shards {
			sl := t.slotLocked(i)
			switch {
			case sl.err != nil:
				t.mu.Unlock()
				return sl.err
			case sl.loading != nil:
				wait = append(wait, sl.loading)
			case !sl.loaded || sl.stale:
				sl.loading = make(chan struct{})
				wait = append(wait, sl.loading)
				t.stats.Reads++
				go t.read(i, sl)
			}
		}
		t.mu.Unlock()
		if len(wait) == 0 {
			return nil
		}
		for _, ch := range wait {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Loop: a read may have failed, or a shard gone stale meanwhile.
		t.mu.Lock()
		for _, i := range shards {
			if sl := t.slots[i]; sl.readErr != nil && sl.loading == nil && !sl.loaded {
				// The read failed after the adapter's retries; report it
				// rather than spin. The next call tries again.
				err := sl.readErr
				sl.readErr = nil
				t.mu.Unlock()
				return err
			}
		}
		t.mu.Unlock()
	}
}

func (t *Task) read(i int, sl *slot) {
	data, rev, err := t.s.a.Read(t.ctx, sl.blob)
	var st *format.Shard
	switch {
	case errors.Is(err, adapters.ErrNotFound):
		st, rev, err = format.EmptyShard(), adapters.NoRev, nil
	case err == nil:
		st, err = format.ParseShard(sl.blob, data, t.s.keys.Cipher)
	default:
		err = fmt.Errorf("failed to read shard %s: %w", sl.blob, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := sl.loading
	sl.loading = nil
	defer close(ch)
	switch {
	case err == nil:
		sl.state, sl.rev, sl.loaded, sl.stale, sl.readErr = st, rev, true, false, nil
		sl.version++
		t.seq++
		sl.readSeq, sl.wroteSeq = t.seq, 0
		t.pumpLocked()
	case errors.Is(err, format.ErrCorrupt) || errors.Is(err, format.ErrUnsupportedVersion):
		sl.err = err
	case errors.Is(err, adapters.ErrUnauthorized):
		sl.loaded = false
		sl.readErr = err
		t.failAllLocked(err)
	default:
		// Transient: forget the shard so that a later call tries again.
		sl.loaded = false
		sl.stale = false
		sl.readErr = err
	}
}

// state returns the shard that holds path, loading it if needed.
func (t *Task) shardFor(ctx context.Context, path string) (*format.Shard, error) {
	i := t.s.router.ShardOf(path)
	if err := t.load(ctx, []int{i}); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slots[i].state, nil
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

// GetAll reads many documents at once: the calls share the task cache, so
// each shard is read at most once and all in parallel. The i-th value and
// error belong to paths[i]; a missing document has an ErrNotFound error.
func (t *Task) GetAll(ctx context.Context, paths []string) ([]json.RawMessage, []error) {
	vals := make([]json.RawMessage, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { vals[i], errs[i] = t.Get(ctx, p) })
	}
	wg.Wait()
	return vals, errs
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
	docs, _, err := t.walk(ctx, dir)
	if err != nil {
		return nil, &OpError{"find", dir, err}
	}
	return docs, nil
}

// walk lists dir and everything below it, returning document and directory
// paths (dirs include dir itself when it exists), each sorted.
func (t *Task) walk(ctx context.Context, dir string) (docs, dirs []string, err error) {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	var visit func(d string)
	visit = func(d string) {
		defer wg.Done()
		names, err := t.List(ctx, d)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		if len(names) > 0 || d == dir {
			dirs = append(dirs, d)
		}
		for _, n := range names {
			p := d + n
			if format.IsDir(p) {
				wg.Add(1)
				go visit(p)
			} else {
				docs = append(docs, p)
			}
		}
	}
	wg.Add(1)
	go visit(dir)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	format.Sort(docs)
	format.Sort(dirs)
	return docs, dirs, nil
}

// listing decodes a directory item; absent means empty.
func listing(st *format.Shard, dir string) ([]string, error) {
	v, ok, err := st.Get(dir)
	if err != nil || !ok {
		return nil, err
	}
	names, err := format.ParseList(v)
	if err != nil {
		return nil, &format.CorruptError{Blob: st.Blob(), Item: dir, Err: err}
	}
	return names, nil
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

func backoff(base time.Duration, attempt int) time.Duration {
	if base <= 0 {
		return 0
	}
	// Capped at a second: with the re-plan limit at 40, a call under the
	// worst contention gives up within about half a minute.
	d := base << min(attempt, 8)
	if d > time.Second {
		d = time.Second
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}
