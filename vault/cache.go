package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
)

// The task cache: each shard is read at most once per task (again only
// after a conflict or a failed write), reads of different shards run in
// parallel, and planning sees one consistent view of each shard.

// shardsOf returns the shard indexes of the given paths, deduplicated, in
// the order of their first path.
func (t *Task) shardsOf(paths ...string) []int {
	var out []int
	var seen map[int]bool // for long lists (a level of a walk): no quadratic scan
	if len(paths) > 16 {
		seen = map[int]bool{}
	}
	for _, p := range paths {
		i := t.s.router.ShardOf(p)
		switch {
		case seen != nil:
			if seen[i] {
				continue
			}
			seen[i] = true
		case slices.Contains(out, i):
			continue
		}
		out = append(out, i)
	}
	return out
}

// walkLevels lists dir and everything below it, returning document and
// directory paths (dirs include dir itself when it exists), each sorted.
//
// It goes one directory level at a time: the shards of a whole level are
// read in one parallel round (a directory's children are known only once
// its listing is read, so that is as few rounds as any walk takes), then
// the level's listings are decoded from the task cache without a
// goroutine each. A goroutine per directory made an export of 100,000
// entries in 100,000 directories hold 100,000 goroutines at once (most
// of its 558-775 MB peak); this walk holds at most one per shard read.
func (t *Task) walkLevels(ctx context.Context, dir string) (docs, dirs []string, err error) {
	level := []string{dir}
	for len(level) > 0 {
		if err := t.load(ctx, t.shardsOf(level...)); err != nil {
			return nil, nil, err
		}
		var next []string
		for _, d := range level {
			names, err := t.List(ctx, d)
			if err != nil {
				return nil, nil, err
			}
			if len(names) > 0 || d == dir {
				dirs = append(dirs, d)
			}
			for _, n := range names {
				if p := d + n; format.IsDir(p) {
					next = append(next, p)
				} else {
					docs = append(docs, p)
				}
			}
		}
		level = next
	}
	format.Sort(docs)
	format.Sort(dirs)
	return docs, dirs, nil
}

// readyLocked reports whether every listed shard is loaded and fresh.
func (t *Task) readyLocked(shards []int) bool {
	for _, i := range shards {
		sl := t.slots[i]
		if sl == nil || !sl.loaded || sl.stale || sl.loading != nil {
			return false
		}
	}
	return true
}

func (t *Task) stateOf(path string) *format.Shard {
	return t.slots[t.s.router.ShardOf(path)].state
}

func (t *Task) existsLocked(path string) bool { return t.stateOf(path).Has(path) }

// listingLocked returns dir's listing in the task's current state of its
// shard. The result is shared and must not be modified.
//
// Listings are decoded once per shard state and cached on the slot:
// planning N updates below one directory would otherwise decode its
// listing N times, which made planning a large batch quadratic in the
// directory's size. The cache is dropped whenever the slot's state
// changes (its version moves), so it never outlives the state it was
// decoded from; applyLocked decodes its own copies, which it edits.
func (t *Task) listingLocked(dir string) ([]string, error) {
	sl := t.slots[t.s.router.ShardOf(dir)]
	if sl.lists == nil || sl.listsVersion != sl.version {
		sl.lists, sl.listsVersion = map[string][]string{}, sl.version
	}
	if names, ok := sl.lists[dir]; ok {
		return names, nil
	}
	names, err := listing(sl.state, dir)
	if err != nil {
		return nil, err
	}
	sl.lists[dir] = names
	return names, nil
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
	// writing is the size of the blob being written, 0 when none is (see
	// writeBudget).
	writing int
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
		// Empty, unless the store moved and the sealed file was deleted
		// (Store.missingShard: one config read, only for a missing shard).
		st, rev, err = format.EmptyShard(), adapters.NoRev, t.s.missingShard(t.ctx, sl.blob)
	case err == nil:
		st, err = format.ParseShard(sl.blob, data, t.s.keys.Cipher)
	default:
		err = blobError("read", sl.blob, err)
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
	case errors.Is(err, format.ErrMoved):
		// A migration sealed the shard: this task routes by a layout the
		// store is leaving or has left, so nothing more it does can land.
		sl.err = err
		t.failAllLocked(err)
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

// blobError adds the blob's name to an adapter's error unless the error
// already names it (the adapters' own errors do: "read shard-…: …"), so a
// message says it once.
func blobError(op, blob string, err error) error {
	var ae *adapters.Error
	if errors.As(err, &ae) && ae.ID == blob {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, blob, err)
}
