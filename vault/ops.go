package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

type opKind int

const (
	opUpdate opKind = iota
	opRemove
	opPrune
)

func (k opKind) String() string {
	return [...]string{"update", "remove", "prune"}[k]
}

// op is one high-level write call in flight.
type op struct {
	kind   opKind
	path   string
	fn     UpdateFunc
	relink bool // link every edge even if the document exists (repair)

	changes  []*change // the current plan's changes
	replan   bool      // a conflict invalidated the plan; plan again
	attempts int       // re-plans so far
	finished bool
	err      error
	wake     chan struct{} // signalled on every state change
}

func (o *op) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

type changeKind int

const (
	chPut    changeKind = iota // set a document's value
	chRm                       // delete a document
	chLink                     // make sure a directory lists a name (creating the directory)
	chUnlink                   // drop a name from a directory if the child is gone; drop the directory when it empties
	chRmdir                    // delete a directory whose children are all gone
	chTouch                    // no edit: the write itself proves the item's state (see docs/architecture.md)
)

// change is one item-level change (spec §5).
type change struct {
	op    *op
	kind  changeKind
	item  string          // the item edited: a document or directory path
	name  string          // chLink, chUnlink: the child's name
	value json.RawMessage // chPut
	force bool            // write the shard even if its content does not change
	sc    *sched.Change
}

// writesInto reports the item whose content the change creates or extends,
// if any: a put writes its document, a link its directory.
func (c *change) writesInto() string {
	if c.kind == chPut || c.kind == chLink {
		return c.item
	}
	return ""
}

// run executes one write call: plan it, let the scheduler write it, and
// plan it again after conflicts until it is done or fails.
func (t *Task) run(ctx context.Context, o *op) error {
	o.wake = make(chan struct{}, 1)
	t.mu.Lock()
	t.live[o] = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.live, o)
		t.mu.Unlock()
	}()
	if o.kind != opPrune {
		// Calls on one document within a task take turns, so that two
		// updates of one value compose instead of one overwriting the other.
		release, err := t.turn(ctx, o.path)
		if err != nil {
			return err
		}
		defer release()
	}
	for {
		t.mu.Lock()
		if t.fatal != nil {
			t.mu.Unlock()
			return &OpError{o.kind.String(), o.path, t.fatal}
		}
		t.preparing++
		t.mu.Unlock()

		err := t.prepare(ctx, o)

		t.mu.Lock()
		t.preparing--
		if err != nil && !o.finished {
			t.finishLocked(o, err)
		}
		t.pumpLocked()
		t.mu.Unlock()

		if err := t.await(ctx, o); err != nil {
			return err
		}
		t.mu.Lock()
		if o.finished {
			t.mu.Unlock()
			if o.err != nil {
				return &OpError{o.kind.String(), o.path, o.err}
			}
			return nil
		}
		o.replan = false
		attempts := o.attempts
		t.mu.Unlock()
		if d := backoff(t.s.opts.Backoff, attempts); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				t.abandon(o, ctx.Err())
				return ctx.Err()
			}
		}
	}
}

// await blocks until o finished or needs a new plan and has no write in
// flight.
func (t *Task) await(ctx context.Context, o *op) error {
	for {
		t.mu.Lock()
		// A failed call returns only once none of its writes is in flight,
		// so the caller never races its own late writes.
		if (o.finished || o.replan) && !t.inFlightLocked(o) {
			t.mu.Unlock()
			return nil
		}
		t.mu.Unlock()
		select {
		case <-o.wake:
		case <-ctx.Done():
			t.abandon(o, ctx.Err())
			return ctx.Err()
		}
	}
}

// abandon stops o for a caller that gave up waiting. Unwritten changes are
// dropped; what was written stays, which is safe by the ordering of the
// plan.
func (t *Task) abandon(o *op, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !o.finished {
		t.cancelLocked(o)
		t.finishLocked(o, err)
	}
}

func (t *Task) turn(ctx context.Context, path string) (func(), error) {
	for {
		t.mu.Lock()
		ch, busy := t.turns[path]
		if !busy {
			mine := make(chan struct{})
			t.turns[path] = mine
			t.mu.Unlock()
			return func() {
				t.mu.Lock()
				delete(t.turns, path)
				t.mu.Unlock()
				close(mine)
			}, nil
		}
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (t *Task) inFlightLocked(o *op) bool {
	for _, c := range o.changes {
		if g := c.sc.Group(); g != nil && g.State == sched.Running {
			return true
		}
	}
	return false
}

// shardsOf returns the shard indexes of the given paths, deduplicated.
func (t *Task) shardsOf(paths ...string) []int {
	var out []int
	for _, p := range paths {
		i := t.s.router.ShardOf(p)
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
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

// prepare loads what o needs and adds its changes to the plan. Before any
// write, every shard the operation touches is loaded (spec §5), so that the
// revisions held predate the operation's own writes.
func (t *Task) prepare(ctx context.Context, o *op) error {
	for {
		var need []int
		switch o.kind {
		case opUpdate, opRemove:
			need = t.shardsOf(append(format.Ancestors(o.path), o.path)...)
		case opPrune:
			paths, err := t.pruneScope(ctx, o.path)
			if err != nil {
				return err
			}
			need = t.shardsOf(paths...)
		}
		if err := t.load(ctx, need); err != nil {
			return err
		}

		// Compute the new value outside the lock: fn is the caller's code.
		var (
			newVal  json.RawMessage
			version uint64
		)
		if o.kind == opUpdate {
			t.mu.Lock()
			sl := t.slots[t.s.router.ShardOf(o.path)]
			st, v := sl.state, sl.version
			t.mu.Unlock()
			old, ok, err := st.Get(o.path)
			if err != nil {
				return err
			}
			if !ok {
				old = nil
			}
			nv, err := o.fn(old)
			if err != nil {
				return err
			}
			if nv != nil {
				if nv, err = normalise(nv); err != nil {
					return err
				}
			}
			newVal, version = nv, v
		}

		t.mu.Lock()
		if !t.readyLocked(need) {
			t.mu.Unlock()
			continue
		}
		if o.kind == opUpdate && t.slots[t.s.router.ShardOf(o.path)].version != version {
			// The document's shard changed while fn ran; run it again.
			t.mu.Unlock()
			continue
		}
		if ch := t.busyChainLocked(o); ch != nil {
			// Another call of this task is writing a removal on our path:
			// its outcome decides what we must write, so plan after it.
			t.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		var err error
		switch {
		case o.kind == opUpdate && newVal != nil:
			err = t.planUpdateLocked(o, newVal)
		case o.kind == opPrune:
			var complete bool
			complete, err = t.planPruneLocked(o)
			if err == nil && !complete {
				t.mu.Unlock()
				continue
			}
		default:
			err = t.planRemoveLocked(o)
		}
		if err != nil {
			t.cancelLocked(o)
			t.mu.Unlock()
			return err
		}
		// Changes that landed before a re-plan are history; with nothing
		// new to write, the call is done.
		if allDone(o) {
			t.finishLocked(o, nil)
		}
		t.mu.Unlock()
		return nil
	}
}

// busyChainLocked returns a channel to wait on when a write in flight
// carries another call's removal (rm, unlink, rmdir, touch) of an item on
// o's path: the document or one of its ancestors. Planning o against the
// state before that write would skip links the write is dropping (the model
// checker's "update during remove"). Changes not yet started need no wait:
// removals are re-checked when applied, and see o's planned writes.
func (t *Task) busyChainLocked(o *op) chan struct{} {
	if o.kind == opPrune {
		return nil
	}
	chain := append(format.Ancestors(o.path), o.path)
	for _, g := range t.plan.Groups() {
		if g.State != sched.Running {
			continue
		}
		for _, sc := range g.Changes {
			c := sc.Data.(*change)
			if c.op != o && c.kind != chPut && c.kind != chLink && slices.Contains(chain, c.item) {
				return t.settled
			}
		}
	}
	return nil
}

// settleLocked wakes the calls waiting in busyChainLocked.
func (t *Task) settleLocked() {
	close(t.settled)
	t.settled = make(chan struct{})
}

// normalise checks that v is storable JSON and compacts it.
func normalise(v json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		// The decoder's message may quote the value; say only where.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: not valid JSON (at byte %d)", ErrInvalidValue, se.Offset)
		}
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidValue)
	}
	if bytes.Equal(buf.Bytes(), []byte("null")) {
		return nil, fmt.Errorf("%w: null cannot be stored", ErrInvalidValue)
	}
	return buf.Bytes(), nil
}

// Helpers over the task's current state; callers hold t.mu and have loaded
// the shards involved.

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

func (t *Task) addLocked(o *op, c *change, deps ...*change) *change {
	c.op = o
	c.sc = &sched.Change{Shard: t.s.router.ShardOf(c.item), Data: c}
	for _, d := range deps {
		if d != nil {
			c.sc.Deps = append(c.sc.Deps, d.sc)
		}
	}
	t.plan.Add(c.sc)
	o.changes = append(o.changes, c)
	if w := c.writesInto(); w != "" {
		t.writers[w]++
	}
	return c
}

// planUpdateLocked plans update(x).
//
// An existing document gets only its put: the write's compare-and-swap on
// the document's shard proves the document still exists when it lands, and
// the directories above an existing document exist and list it (the safety
// invariant held just before), so nothing above needs touching.
//
// A new document gets a link of every edge above it, each a write even
// when the directory already lists the name, all independent of each other
// (one round), then the put after all of them (spec §5 as corrected). The
// write is what makes a concurrent remover's read of that directory stale,
// so its unlink conflicts instead of dropping a name we are about to rely
// on. See docs/architecture.md for the scenarios that need each rule.
func (t *Task) planUpdateLocked(o *op, value json.RawMessage) error {
	x := o.path
	if t.existsLocked(x) && !o.relink {
		t.addLocked(o, &change{kind: chPut, item: x, value: value})
		return nil
	}
	anc := format.Ancestors(x)
	chain := append(slices.Clone(anc), x)
	links := make([]*change, 0, len(anc))
	for i, p := range anc {
		if _, err := t.listingLocked(p); err != nil {
			return err
		}
		links = append(links, t.addLocked(o, &change{kind: chLink, item: p, name: format.Name(chain[i+1]), force: true}))
	}
	t.addLocked(o, &change{kind: chPut, item: x, value: value}, links...)
	return nil
}

// planRemoveLocked plans remove(x): rm, then the bottom-up chain of unlinks,
// each after the one below it, planned in full from the listings loaded up
// front (spec §5). Each unlink is re-checked when applied.
func (t *Task) planRemoveLocked(o *op) error {
	x := o.path
	anc := format.Ancestors(x)
	parentNames, err := t.listingLocked(anc[len(anc)-1])
	if err != nil {
		return err
	}
	var prev *change
	switch {
	case t.existsLocked(x):
		prev = t.addLocked(o, &change{kind: chRm, item: x})
	case slices.Contains(parentNames, format.Name(x)):
		// Absent but still listed: drop the name, after a write to the
		// document's shard proves it is still absent.
		prev = t.addLocked(o, &change{kind: chTouch, item: x, force: true})
	default:
		return nil
	}
	t.planUnlinkLocked(o, x, prev)
	return nil
}

// planUnlinkLocked plans unlink(parent(child), name(child)) after prev.
// The chain goes further up only when a write actually empties a directory
// (see followUpsLocked): whether it will is known when the unlink is
// applied, not when it is planned, since other calls of the task may fill
// or empty the directory meanwhile (two removes of one task each planning
// from a listing with two names left a ghost directory).
func (t *Task) planUnlinkLocked(o *op, child string, prev *change) {
	p := format.Parent(child)
	if p == "" {
		return
	}
	names, err := t.listingLocked(p)
	if err != nil || !slices.Contains(names, format.Name(child)) {
		return
	}
	t.addLocked(o, &change{kind: chUnlink, item: p, name: format.Name(child)}, prev)
}

// pruneScope lists what prune(dir) touches: every item below dir, dir, and
// its ancestors. It reads through the task cache.
func (t *Task) pruneScope(ctx context.Context, dir string) ([]string, error) {
	docs, dirs, err := t.walk(ctx, dir)
	if err != nil {
		return nil, err
	}
	paths := append(format.Ancestors(dir), dir)
	paths = append(paths, docs...)
	paths = append(paths, dirs...)
	return paths, nil
}

// planPruneLocked plans prune(dir) from the task's state: rm of every
// document, rm of each directory after all its children, the directory
// itself last, then the upward unlink chain. It reports false when the
// listings now name items whose shards are not loaded yet (the caller loads
// and tries again).
func (t *Task) planPruneLocked(o *op) (bool, error) {
	dir := o.path
	var plan func(d string) (*change, bool, error)
	plan = func(d string) (*change, bool, error) {
		if !t.readyLocked(t.shardsOf(d)) {
			return nil, false, nil
		}
		names, err := t.listingLocked(d)
		if err != nil {
			return nil, false, err
		}
		var deps []*change
		for _, n := range names {
			p := d + n
			if !t.readyLocked(t.shardsOf(p)) {
				return nil, false, nil
			}
			var c *change
			if format.IsDir(p) {
				var ok bool
				c, ok, err = plan(p)
				if err != nil || !ok {
					return nil, ok, err
				}
			} else if t.existsLocked(p) {
				c = t.addLocked(o, &change{kind: chRm, item: p})
			} else {
				c = t.addLocked(o, &change{kind: chTouch, item: p, force: true})
			}
			deps = append(deps, c)
		}
		if len(names) == 0 && !t.existsLocked(d) {
			// Missing directory: prove it with a write to its shard, so
			// that a parent still listing it may drop the name.
			return t.addLocked(o, &change{kind: chTouch, item: d, force: true}, deps...), true, nil
		}
		return t.addLocked(o, &change{kind: chRmdir, item: d}, deps...), true, nil
	}
	if !t.existsLocked(dir) {
		if dir == "/" {
			return true, nil
		}
		names, err := t.listingLocked(format.Parent(dir))
		if err != nil {
			return false, err
		}
		if !slices.Contains(names, format.Name(dir)) {
			return true, nil // nothing there and nothing listing it
		}
	}
	top, ok, err := plan(dir)
	if err != nil || !ok {
		t.cancelLocked(o)
		return ok, err
	}
	if dir != "/" {
		t.planUnlinkLocked(o, dir, top)
	}
	return true, nil
}

// cancelLocked drops every change of o that has not started writing.
func (t *Task) cancelLocked(o *op) {
	var keep []*change
	for _, c := range o.changes {
		if c.sc.IsDone() {
			continue
		}
		if g := c.sc.Group(); g != nil && g.State == sched.Running {
			keep = append(keep, c)
			continue
		}
		t.plan.Cancel(c.sc)
		t.dropWriterLocked(c)
	}
	o.changes = keep
}

func (t *Task) dropWriterLocked(c *change) {
	if w := c.writesInto(); w != "" {
		t.writers[w]--
		if t.writers[w] <= 0 {
			delete(t.writers, w)
		}
	}
}

func (t *Task) finishLocked(o *op, err error) {
	o.finished = true
	o.err = err
	o.signal()
}

// failAllLocked ends the task: an authorisation failure stops every pending
// call at once (spec §7).
func (t *Task) failAllLocked(err error) {
	if t.fatal == nil {
		t.fatal = err
	}
	// Every live call, not only those with changes in the plan: a call
	// whose last changes were in the failed write has none left there, and
	// would otherwise wait for ever (found by the model checker).
	for o := range t.live {
		if !o.finished {
			t.cancelLocked(o)
			t.finishLocked(o, err)
		}
	}
}

// pumpLocked starts every write group that may start. It waits while calls
// are still loading or planning, so that calls issued together are planned
// together (batching), then writes as much as the plan allows. The writes of
// one pass are encoded first and sent together, so that they overlap.
func (t *Task) pumpLocked() {
	if t.preparing > 0 || t.fatal != nil {
		return
	}
	type pending struct {
		g    *sched.Group
		sl   *slot
		data []byte
		rev  adapters.Rev
	}
	var out []pending
	for progress := true; progress; {
		progress = false
		t.plan.Optimize()
		for _, g := range t.plan.Ready() {
			sl := t.slots[g.Shard]
			if sl == nil || !sl.loaded || sl.stale || sl.loading != nil {
				continue
			}
			t.plan.Start(g)
			next, write, err := t.applyLocked(g, sl)
			if err == nil && write {
				var data []byte
				if data, err = next.Encode(t.s.opts.Rand, t.s.keys.Cipher); err == nil {
					t.stats.Writes++
					out = append(out, pending{g, sl, data, sl.rev})
					continue
				}
				err = fmt.Errorf("failed to encode shard %s: %w", sl.blob, err)
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
		go t.write(p.g, p.sl, p.data, p.rev)
	}
}

func (t *Task) write(g *sched.Group, sl *slot, data []byte, rev adapters.Rev) {
	newRev, err := t.s.a.Write(t.ctx, sl.blob, data, rev)
	var next *format.Shard
	if err == nil {
		// The written bytes are the new baseline: re-reading them keeps
		// every item's ciphertext for the next write of this shard.
		next, err = format.ParseShard(sl.blob, data, t.s.keys.Cipher)
		if err != nil {
			err = fmt.Errorf("failed to re-read what was written to %s: %w", sl.blob, err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err == nil:
		t.groupDoneLocked(g, sl, next, newRev, true)
	case errors.Is(err, adapters.ErrConflict):
		t.stats.Conflicts++
		t.conflictLocked(g, sl)
	default:
		t.failGroupLocked(g, sl, fmt.Errorf("failed to write shard %s: %w", sl.blob, err))
	}
	delete(t.followUps, g)
	t.settleLocked()
	t.pumpLocked()
}

// applyLocked computes the shard's next state from its current state and
// the group's changes, re-checking conditional changes now. It reports
// whether the result must be written. Directory listings are decoded once
// per group and written back at the end, so a group of many links into one
// directory costs one decode and one encode.
func (t *Task) applyLocked(g *sched.Group, sl *slot) (*format.Shard, bool, error) {
	next := sl.state.Clone()
	force := false
	var fus []followUp
	dirs := map[string][]string{} // edited listings; nil slice = directory deleted
	edited := func(dir string) ([]string, error) {
		if names, ok := dirs[dir]; ok {
			return names, nil
		}
		names, err := listing(next, dir)
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
			return !next.Has(item)
		}
		other := t.slots[t.s.router.ShardOf(item)]
		return other != nil && other.loaded && !other.state.Has(item)
	}
	for _, sc := range g.Changes {
		c := sc.Data.(*change)
		force = force || c.force
		switch c.kind {
		case chPut:
			next.Set(c.item, c.value)
		case chRm:
			next.Delete(c.item)
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
	for dir, names := range dirs {
		if len(names) == 0 {
			next.Delete(dir)
		} else {
			next.Set(dir, format.MarshalList(names))
		}
	}
	if len(fus) > 0 {
		t.followUps[g] = fus
	}
	return next, force || !next.SameContent(sl.state), nil
}

// emptiedBy returns the call whose unlink or rmdir in g emptied dir.
func emptiedBy(g *sched.Group, dir string) *op {
	for _, sc := range g.Changes {
		c := sc.Data.(*change)
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
// could not prove gone, or a new plan.
func (t *Task) followUpsLocked(g *sched.Group, written bool) {
	fus := t.followUps[g]
	delete(t.followUps, g)
	for _, fu := range fus {
		o := fu.op
		if o.finished || o.replan {
			continue
		}
		switch {
		case fu.emptied != "" && written:
			if !pendingOn(o, format.Parent(fu.emptied)) {
				t.planUnlinkLocked(o, fu.emptied, nil)
			}
		case fu.prove != "":
			p := format.Parent(fu.prove)
			if pendingOn(o, p) && !pendingUnlink(o, p, format.Name(fu.prove)) {
				continue
			}
			touch := t.addLocked(o, &change{kind: chTouch, item: fu.prove, force: true})
			t.addLocked(o, &change{kind: chUnlink, item: p, name: format.Name(fu.prove)}, touch)
		case fu.replan:
			t.cancelLocked(o)
			o.attempts++
			t.stats.Replans++
			if o.attempts > t.s.opts.MaxConflicts {
				t.finishLocked(o, &ConflictError{Blob: t.s.router.BlobID(g.Shard), Attempts: o.attempts})
				continue
			}
			o.replan = true
			o.signal()
		}
	}
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
func (t *Task) groupDoneLocked(g *sched.Group, sl *slot, next *format.Shard, rev adapters.Rev, written bool) {
	sl.state, sl.rev = next, rev
	sl.version++
	if written {
		t.seq++
		sl.wroteSeq = t.seq
	}
	t.plan.Done(g)
	t.followUpsLocked(g, written)
	for _, sc := range g.Changes {
		c := sc.Data.(*change)
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

func allDone(o *op) bool {
	for _, c := range o.changes {
		if !c.sc.IsDone() {
			return false
		}
	}
	return true
}

// conflictLocked handles a write that lost a race: the shard is re-read,
// and the operations that had a change in the failed write, or anything
// unwritten on that shard, are planned again. Writes of other operations
// stay planned; writes that succeeded stay done.
func (t *Task) conflictLocked(g *sched.Group, sl *slot) {
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
func (t *Task) failGroupLocked(g *sched.Group, sl *slot, err error) {
	if errors.Is(err, adapters.ErrUnauthorized) {
		sl.stale = true
		t.failAllLocked(err)
		// A call that failed already may be waiting for this write to end
		// before it returns (found by the model checker).
		for _, sc := range t.plan.Fail(g) {
			sc.Data.(*change).op.signal()
		}
		return
	}
	inGroup := map[*op]bool{}
	for _, sc := range g.Changes {
		inGroup[sc.Data.(*change).op] = true
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
func (t *Task) affectedLocked(g *sched.Group) []*op {
	var out []*op
	add := func(o *op) {
		if !o.finished && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	for _, sc := range t.plan.Fail(g) {
		c := sc.Data.(*change)
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
			add(sc.Data.(*change).op)
		}
	}
	return out
}
