package vault

import (
	"errors"
	"slices"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// Recovery: what a conflicting or failed write does to the calls in it.

// conflictLocked handles a write that lost a race: the shard is re-read,
// and the operations that had a change in the failed write, or anything
// unwritten on that shard, are planned again. Writes of other operations
// stay planned; writes that succeeded stay done.
func (t *Task) conflictLocked(g *sched.Group[*change], sl *slot) {
	sl.stale = true
	for _, o := range t.affectedLocked(g) {
		t.cancelLocked(o)
		o.attempts++
		t.stats.Replans++
		if o.attempts > t.s.opts.MaxConflicts {
			t.finishLocked(o, &ConflictError{Blob: sl.blob, Attempts: o.attempts})
			continue
		}
		o.replan = true
		o.signal()
		if o.attempts >= 2 {
			t.refreshLocked(o)
		}
	}
}

// refreshLocked marks every shard o touches for a re-read. A new document
// writes a link on every shard above it; under contention those shards are
// written by others too, and re-reading only the shard that conflicted let
// each attempt discover the next stale one, so a call could lose dozens of
// times in a row (6 processes on 4 shards: 5 of 160 commands gave up after
// 41 conflicts). From its second conflict on, a call plans from fresh
// reads of all its shards, taken in one parallel round.
func (t *Task) refreshLocked(o *op) {
	for _, i := range t.shardsOf(append(format.Ancestors(o.path), o.path)...) {
		sl := t.slots[i]
		if sl == nil || !sl.loaded || sl.loading != nil || t.runningOnLocked(i) {
			continue
		}
		sl.stale = true
	}
}

func (t *Task) runningOnLocked(shard int) bool {
	for _, g := range t.plan.Groups() {
		if g.Shard == shard && g.State == sched.Running {
			return true
		}
	}
	return false
}

// failGroupLocked handles a write that failed for another reason. It may
// or may not have landed, so the shard is re-read before it is used again;
// the operations with a change in the write fail, others with unwritten
// changes on the shard are planned again.
func (t *Task) failGroupLocked(g *sched.Group[*change], sl *slot, err error) {
	if errors.Is(err, adapters.ErrUnauthorized) {
		sl.stale = true
		t.failAllLocked(err)
		// A call that failed already may be waiting for this write to end
		// before it returns (found by the model checker).
		for _, sc := range t.plan.Fail(g) {
			sc.Data.op.signal()
		}
		return
	}
	inGroup := map[*op]bool{}
	for _, sc := range g.Changes {
		inGroup[sc.Data.op] = true
	}
	// A failure while applying (a damaged directory item) happened before
	// any I/O; the cached state is still good.
	if errors.Is(err, format.ErrCorrupt) {
		for _, o := range t.affectedLocked(g) {
			t.cancelLocked(o)
			t.finishLocked(o, err)
		}
		return
	}
	sl.stale = true
	for _, o := range t.affectedLocked(g) {
		t.cancelLocked(o)
		if inGroup[o] {
			t.finishLocked(o, err)
			continue
		}
		o.replan = true
		t.stats.Replans++
		o.signal()
	}
}

// affectedLocked fails g in the plan and returns the unfinished operations
// with a change in g or an unwritten change on g's shard.
func (t *Task) affectedLocked(g *sched.Group[*change]) []*op {
	var out []*op
	add := func(o *op) {
		if !o.finished && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	for _, sc := range t.plan.Fail(g) {
		c := sc.Data
		t.dropWriterLocked(c)
		c.op.changes = slices.DeleteFunc(c.op.changes, func(x *change) bool { return x == c })
		add(c.op)
		c.op.signal()
	}
	for _, h := range t.plan.Groups() {
		if h.Shard != g.Shard || h.State != sched.Open {
			continue
		}
		for _, sc := range h.Changes {
			add(sc.Data.op)
		}
	}
	return out
}
