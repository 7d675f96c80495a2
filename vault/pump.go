package vault

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// The pump: starts every write group the plan allows, applies its changes
// to the shard's current state, and hands what a landed write proved on to
// its call.

// settleLocked wakes the calls waiting in busyChainLocked.
func (t *Task) settleLocked() {
	close(t.settled)
	t.settled = make(chan struct{})
}

// writeBudget bounds the bytes of shard writes in flight at once: a write
// starts while the blobs in flight and the shard's current size
// (Shard.Size, what its next blob will about be) fit, and anyway when none
// is in flight, so a shard larger than the budget is still written. Each write in flight holds its new blob and the ciphertext of
// its changed items beside the state it replaces: an import of 100,000
// entries into 4 shards wrote all four 12 MB shards at once, 50 MB of its
// peak heap. Small stores never reach the budget and keep their writes
// overlapping, and so do single calls: the budget holds only while more
// than one call is live (a batch), so that a set on a store of large
// shards still writes its round's few shards at once, not one after
// another (a round trip each on a remote store).
// A variable for the tests.
var writeBudget = 16 << 20

// pumpLocked starts every write group that may start. It waits while calls
// are still loading or planning, so that calls issued together are planned
// together (batching), then writes as much as the plan allows and
// writeBudget lets in flight; a ready group left waiting starts when a write
// lands (write pumps again). The writes of one pass are encoded first and
// sent together, so that they overlap.
func (t *Task) pumpLocked() {
	if t.preparing > 0 || t.fatal != nil {
		return
	}
	type pending struct {
		g     *sched.Group[*change]
		sl    *slot
		data  []byte
		state *format.Shard // what the shard holds once data is written
		rev   adapters.Rev
	}
	var out []pending
	var stranded []*sched.Group[*change]
	inFlight := 0
	t.plan.EachRunning(func(g *sched.Group[*change]) bool {
		if sl := t.slots[g.Shard]; sl != nil {
			inFlight += sl.writing
		}
		return true
	})
	for progress := true; progress; {
		progress = false
		t.plan.Optimize()
		for _, g := range t.plan.Ready() {
			sl := t.slots[g.Shard]
			if sl == nil || !sl.loaded || sl.stale || sl.loading != nil {
				if sl == nil || sl.loading == nil {
					stranded = append(stranded, g)
				}
				continue
			}
			if inFlight > 0 && inFlight+sl.state.Size() > writeBudget && len(t.live) > 1 {
				continue // until a write in flight lands
			}
			t.plan.Start(g)
			for _, sc := range g.Changes {
				if o := sc.Data.op; o.bc != nil && o.bc.parked {
					o.bc.b.startedLocked(o, false)
				}
			}
			next, write, err := t.applyLocked(g, sl)
			if err == nil && write {
				var (
					data  []byte
					state *format.Shard
				)
				if data, state, err = next.EncodeState(t.s.opts.Rand, t.s.keys.Cipher); err == nil {
					t.stats.Writes++
					sl.writing = max(len(data), 1)
					inFlight += sl.writing
					out = append(out, pending{g, sl, data, state, sl.rev})
					continue
				}
			}
			progress = true
			if err != nil {
				t.failGroupLocked(g, sl, err)
				continue
			}
			t.stats.Skipped++
			t.groupDoneLocked(g, sl, sl.state, sl.rev, false)
		}
	}
	for _, p := range out {
		go t.write(p.g, p.sl, p.data, p.state, p.rev)
	}
	t.replanStrandedLocked(stranded)
}

// replanStrandedLocked plans again the calls of ready groups whose shard
// is stale or unread while nothing reads it: no call is preparing (pump
// returns early otherwise), so no one would read it and the calls would
// wait for ever. That happens when the call that marked the shard stale
// (a failed write, a refresh after a second conflict) ended before reading
// it again, e.g. on a transient read error; it was found as a rare hang of
// adaptertest's TestClientsFaults. Planning again reads the shard; a call
// whose read fails then ends with that error.
func (t *Task) replanStrandedLocked(groups []*sched.Group[*change]) {
	var ops []*op
	for _, g := range groups {
		for _, sc := range g.Changes {
			if o := sc.Data.op; !o.finished && !o.replan && !slices.Contains(ops, o) {
				ops = append(ops, o)
			}
		}
	}
	for _, o := range ops {
		t.cancelLocked(o)
		o.replan = true
		t.stats.Replans++
		o.signal()
	}
}

func (t *Task) write(g *sched.Group[*change], sl *slot, data []byte, next *format.Shard, rev adapters.Rev) {
	// The encoded state is the new baseline: every item's ciphertext is
	// kept for the next write of this shard.
	newRev, err := t.s.a.Write(t.ctx, sl.blob, data, rev)
	t.mu.Lock()
	defer t.mu.Unlock()
	sl.writing = 0
	switch {
	case err == nil:
		t.groupDoneLocked(g, sl, next, newRev, true)
	case errors.Is(err, adapters.ErrConflict):
		t.stats.Conflicts++
		t.conflictLocked(g, sl)
	default:
		t.failGroupLocked(g, sl, blobError("write", sl.blob, err))
	}
	delete(t.followUps, g)
	t.settleLocked()
	t.pumpLocked()
}

// applyLocked computes the shard's next state from its current state and
// the group's changes, re-checking conditional changes now. It reports
// whether the result must be written. Documents and directory listings are
// collected per group and applied to the shard in one pass at the end
// (format.Shard.Apply), so a group of many links into one directory costs
// one decode and one encode of it, and a group of many new documents one
// merge into the shard's sorted items instead of one insertion each.
func (t *Task) applyLocked(g *sched.Group[*change], sl *slot) (*format.Shard, bool, error) {
	cur := sl.state
	force := false
	docs := map[string]json.RawMessage{} // documents put, or removed (nil)
	has := func(item string) bool {
		if v, ok := docs[item]; ok {
			return v != nil
		}
		return cur.Has(item)
	}
	var fus []followUp
	dirs := map[string][]string{} // edited listings; nil slice = directory deleted
	edited := func(dir string) ([]string, error) {
		if names, ok := dirs[dir]; ok {
			return names, nil
		}
		names, err := listing(cur, dir)
		if err != nil {
			return nil, err
		}
		dirs[dir] = names
		return names, nil
	}
	// gone reports whether item no longer exists as far as this task knows,
	// and nothing planned in this task is about to write into it.
	gone := func(item string) bool {
		if t.writers[item] > 0 {
			return false
		}
		if t.s.router.ShardOf(item) == g.Shard {
			if names, ok := dirs[item]; ok {
				return len(names) == 0
			}
			return !has(item)
		}
		other := t.slots[t.s.router.ShardOf(item)]
		return other != nil && other.loaded && !other.state.Has(item)
	}
	for _, sc := range g.Changes {
		c := sc.Data
		force = force || c.force
		switch c.kind {
		case chPut:
			docs[c.item] = c.value
		case chRm:
			docs[c.item] = nil
		case chTouch:
		case chLink:
			names, err := edited(c.item)
			if err != nil {
				return nil, false, err
			}
			if !slices.Contains(names, c.name) {
				dirs[c.item] = append(names, c.name)
			}
		case chUnlink:
			names, err := edited(c.item)
			if err != nil {
				return nil, false, err
			}
			child := c.item + c.name
			if i := slices.Index(names, c.name); i >= 0 && gone(child) {
				if t.provenLocked(child, c.item) {
					dirs[c.item] = slices.Delete(names, i, i+1)
				} else {
					fus = append(fus, followUp{op: c.op, prove: child})
				}
			}
		case chRmdir:
			names, err := edited(c.item)
			if err != nil {
				return nil, false, err
			}
			// Every child proven gone is dropped; the directory goes when
			// none is left. A child that another call of the task is
			// filling keeps its name (and the directory).
			var keep []string
			unproven := false
			for _, n := range names {
				if gone(c.item + n) {
					if t.provenLocked(c.item+n, c.item) {
						continue
					}
					unproven = true
				}
				keep = append(keep, n)
			}
			dirs[c.item] = keep
			if unproven {
				fus = append(fus, followUp{op: c.op, replan: true})
			}
		}
	}
	// A directory that empties goes away, and the call that emptied it goes
	// on to drop its name from the parent: in this same write when the
	// parent is on this shard (the compare-and-swap proves both), else in a
	// write of its own once this one has landed.
	emptier := map[string]*op{} // directory -> the call that emptied it
	below := map[string]*op{}   // directory emptied by the chain below it
	for grew := true; grew; {
		grew = false
		for dir, names := range dirs {
			if len(names) > 0 || dir == "/" || !sl.state.Has(dir) || emptier[dir] != nil {
				continue
			}
			o := emptiedBy(g, dir)
			if o == nil {
				o = below[dir]
			}
			if o == nil {
				continue
			}
			emptier[dir] = o
			p := format.Parent(dir)
			if t.s.router.ShardOf(p) != g.Shard || !gone(dir) {
				fus = append(fus, followUp{op: o, emptied: dir})
				continue
			}
			pnames, err := edited(p)
			if err != nil {
				return nil, false, err
			}
			if i := slices.Index(pnames, format.Name(dir)); i >= 0 {
				dirs[p] = slices.Delete(pnames, i, i+1)
				below[p] = o
				grew = true
			}
		}
	}
	edits := make([]format.Edit, 0, len(docs)+len(dirs))
	for doc, v := range docs {
		edits = append(edits, format.Edit{Path: doc, Value: v})
	}
	for dir, names := range dirs {
		e := format.Edit{Path: dir}
		if len(names) > 0 {
			e.Value = format.MarshalList(names)
		}
		edits = append(edits, e)
	}
	next := cur.Apply(edits)
	if len(fus) > 0 {
		t.followUps[g] = fus
	}
	return next, force || !next.SameContent(cur), nil
}

// emptiedBy returns the call whose unlink or rmdir in g emptied dir.
func emptiedBy(g *sched.Group[*change], dir string) *op {
	for _, sc := range g.Changes {
		c := sc.Data
		if (c.kind == chUnlink || c.kind == chRmdir) && c.item == dir && !c.op.finished {
			return c.op
		}
	}
	return nil
}

// followUp is work a write hands to its call once it has landed.
type followUp struct {
	op      *op
	emptied string // the write deleted this directory: unlink it from its parent
	prove   string // this child looked gone without a write proving it: touch it, then unlink it
	replan  bool   // a directory looked empty without proof: plan the call again
}

// provenLocked reports whether the task may drop child from parent on the
// strength of its view of child's shard. On one shard the write itself is
// the proof (compare-and-swap covers both items). On two, the view must
// come from this task's own write, made after parent's shard was read: any
// client that re-created child since wrote child's shard (our write would
// have conflicted) or parent's shard (our unlink will conflict, since its
// rev predates that write). A view from a read proves nothing: the child
// may have been re-created, and its name written again, after it.
func (t *Task) provenLocked(child, parent string) bool {
	ci, pi := t.s.router.ShardOf(child), t.s.router.ShardOf(parent)
	if ci == pi {
		return true
	}
	cs, ps := t.slots[ci], t.slots[pi]
	return cs != nil && ps != nil && cs.wroteSeq > 0 && cs.wroteSeq > ps.readSeq
}

// followUpsLocked adds the changes that g's write handed over: the next
// unlink up the chain for a directory it emptied, a touch for a child it
// could not prove gone, or a new plan. A follow-up whose shards are not
// fresh (another call's failed or conflicting write made them stale), or
// whose call is already due for a new plan, is carried into that plan
// instead: added to a stale shard it would wait for a read nobody starts
// (found by the random test with injected faults: a remove hung).
func (t *Task) followUpsLocked(g *sched.Group[*change], written bool) {
	fus := t.followUps[g]
	delete(t.followUps, g)
	for _, fu := range fus {
		o := fu.op
		switch {
		case o.finished || (fu.emptied != "" && !written):
			continue
		case fu.replan:
			t.replanLocked(o, g.Shard)
			continue
		case o.replan:
			o.carry = append(o.carry, fu)
			continue
		}
		cs := followUpChanges(taskView{t}, o, fu)
		if !t.readyLocked(t.shardsOfChanges(cs)) {
			o.carry = append(o.carry, fu)
			t.replanLocked(o, g.Shard)
			continue
		}
		t.addPlanLocked(o, cs)
	}
}

// followUpChanges plans a follow-up of o's.
func followUpChanges(v view, o *op, fu followUp) []*change {
	switch {
	case fu.emptied != "":
		if pendingOn(o, format.Parent(fu.emptied)) {
			return nil
		}
		return planUnlink(v, fu.emptied, nil)
	case fu.prove != "":
		p := format.Parent(fu.prove)
		if pendingOn(o, p) && !pendingUnlink(o, p, format.Name(fu.prove)) {
			return nil
		}
		touch := &change{kind: chTouch, item: fu.prove, force: true}
		return []*change{touch, {kind: chUnlink, item: p, name: format.Name(fu.prove), after: []*change{touch}}}
	}
	return nil
}

// replanLocked cancels o's unwritten changes and has it planned again,
// counting an attempt.
func (t *Task) replanLocked(o *op, shard int) {
	t.cancelLocked(o)
	o.attempts++
	t.stats.Replans++
	if o.attempts > t.s.opts.MaxConflicts {
		t.finishLocked(o, &ConflictError{Blob: t.s.router.BlobID(shard), Attempts: o.attempts})
		return
	}
	o.replan = true
	o.signal()
}

func (t *Task) shardsOfChanges(cs []*change) []int {
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = c.item
	}
	return t.shardsOf(paths...)
}

// pendingOn reports whether o has an unwritten change of item.
func pendingOn(o *op, item string) bool {
	for _, c := range o.changes {
		if c.item == item && !c.sc.IsDone() {
			return true
		}
	}
	return false
}

func pendingUnlink(o *op, dir, name string) bool {
	for _, c := range o.changes {
		if c.kind == chUnlink && c.item == dir && c.name == name && !c.sc.IsDone() {
			return true
		}
	}
	return false
}

// groupDoneLocked records a successful (or skipped) write: the new state is
// the input of the next group on this shard.
func (t *Task) groupDoneLocked(g *sched.Group[*change], sl *slot, next *format.Shard, rev adapters.Rev, written bool) {
	sl.state, sl.rev = next, rev
	sl.version++
	if written {
		t.seq++
		sl.wroteSeq = t.seq
	}
	t.plan.Done(g)
	t.followUpsLocked(g, written)
	for _, sc := range g.Changes {
		c := sc.Data
		t.dropWriterLocked(c)
		o := c.op
		if o.finished {
			o.signal()
			continue
		}
		if !o.replan && allDone(o) {
			t.finishLocked(o, nil)
		} else {
			o.signal()
		}
	}
}
