package vault

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// Planning: what each write call changes, item by item, and in which order
// (docs/architecture.md lists the rules and the schedules that need them).

type changeKind int

const (
	chPut    changeKind = iota // set a document's value
	chRm                       // delete a document
	chLink                     // make sure a directory lists a name (creating the directory)
	chUnlink                   // drop a name from a directory if the child is gone; drop the directory when it empties
	chRmdir                    // delete a directory whose children are all gone
	chTouch                    // no edit: the write itself proves the item's state (see docs/architecture.md)
)

// change is one item-level change (design §5).
type change struct {
	op    *op
	kind  changeKind
	item  string          // the item edited: a document or directory path
	name  string          // chLink, chUnlink: the child's name
	value json.RawMessage // chPut
	force bool            // write the shard even if its content does not change
	after []*change       // while planning: the changes this one waits for
	sc    *sched.Change[*change]
}

// writesInto reports the item whose content the change creates or extends,
// if any: a put writes its document, a link its directory.
func (c *change) writesInto() string {
	if c.kind == chPut || c.kind == chLink {
		return c.item
	}
	return ""
}

// prepare loads what o needs and adds its changes to the plan. Before any
// write, every shard the operation touches is loaded (design §5), so that the
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
		var (
			cs  []*change
			err error
			v   = taskView{t}
		)
		switch {
		case o.kind == opUpdate && newVal != nil:
			cs, err = planUpdate(v, o.path, newVal, o.relink)
		case o.kind == opPrune:
			var complete bool
			cs, complete, err = planPrune(v, o.path)
			if err == nil && !complete {
				t.mu.Unlock()
				continue
			}
		default:
			cs, err = planRemove(v, o.path)
		}
		if err != nil {
			t.cancelLocked(o)
			t.mu.Unlock()
			return err
		}
		if o.kind != opUpdate || newVal == nil {
			// What landed writes of the last plan handed over; an update
			// that writes a value links its whole path anyway.
			for _, fu := range o.carry {
				if fu.prove != o.path {
					cs = append(cs, followUpChanges(v, o, fu)...)
				}
			}
		}
		o.carry = nil
		t.addPlanLocked(o, cs)
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
	var busy chan struct{}
	t.plan.EachRunning(func(g *sched.Group[*change]) bool {
		for _, sc := range g.Changes {
			c := sc.Data
			if c.op != o && c.kind != chPut && c.kind != chLink && slices.Contains(chain, c.item) {
				busy = t.settled
				return false
			}
		}
		return true
	})
	return busy
}

func (t *Task) addLocked(o *op, c *change, deps ...*change) *change {
	c.op = o
	c.sc = &sched.Change[*change]{Shard: t.s.router.ShardOf(c.item), Data: c}
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

// view is what the planners read: the task's current state of the shards a
// call touches. The planners are pure functions of it, so the graphs of
// docs/architecture.md are unit-tested without goroutines or I/O
// (plan_test.go).
type view interface {
	exists(path string) bool
	listing(dir string) ([]string, error)
	// ready reports whether the shard holding path is loaded and fresh.
	ready(path string) bool
}

// taskView is the view of a task whose lock is held.
type taskView struct{ t *Task }

func (v taskView) exists(path string) bool              { return v.t.existsLocked(path) }
func (v taskView) listing(dir string) ([]string, error) { return v.t.listingLocked(dir) }
func (v taskView) ready(path string) bool               { return v.t.readyLocked(v.t.shardsOf(path)) }

// addPlanLocked adds planned changes to the task's plan for o, in order;
// each change's after lists changes earlier in cs.
func (t *Task) addPlanLocked(o *op, cs []*change) {
	for _, c := range cs {
		t.addLocked(o, c, c.after...)
	}
}

// planUpdate plans update(x).
//
// An existing document gets only its put: the write's compare-and-swap on
// the document's shard proves the document still exists when it lands, and
// the directories above an existing document exist and list it (the safety
// invariant held just before), so nothing above needs touching. relink
// (repair) asks for the links all the same.
//
// A new document gets a link of every edge above it, each a write even
// when the directory already lists the name, all independent of each other
// (one round), then the put after all of them (docs/design.md §5). The
// write is what makes a concurrent remover's read of that directory stale,
// so its unlink conflicts instead of dropping a name we are about to rely
// on. See docs/architecture.md for the scenarios that need each rule.
func planUpdate(v view, x string, value json.RawMessage, relink bool) ([]*change, error) {
	if v.exists(x) && !relink {
		return []*change{{kind: chPut, item: x, value: value}}, nil
	}
	anc := format.Ancestors(x)
	chain := append(slices.Clone(anc), x)
	cs := make([]*change, 0, len(anc)+1)
	for i, p := range anc {
		if _, err := v.listing(p); err != nil {
			return nil, err
		}
		cs = append(cs, &change{kind: chLink, item: p, name: format.Name(chain[i+1]), force: true})
	}
	put := &change{kind: chPut, item: x, value: value, after: slices.Clone(cs)}
	return append(cs, put), nil
}

// planRemove plans remove(x): rm, then the unlink of x's name. The chain
// goes further up only when a write empties a directory (followUpsLocked).
func planRemove(v view, x string) ([]*change, error) {
	parentNames, err := v.listing(format.Parent(x))
	if err != nil {
		return nil, err
	}
	var first *change
	switch {
	case v.exists(x):
		first = &change{kind: chRm, item: x}
	case slices.Contains(parentNames, format.Name(x)):
		// Absent but still listed: drop the name, after a write to the
		// document's shard proves it is still absent.
		first = &change{kind: chTouch, item: x, force: true}
	default:
		return nil, nil
	}
	return append([]*change{first}, planUnlink(v, x, first)...), nil
}

// planUnlink plans unlink(parent(child), name(child)) after prev, if the
// parent lists the child. The chain goes further up only when a write
// actually empties a directory (see followUpsLocked): whether it will is
// known when the unlink is applied, not when it is planned, since other
// calls of the task may fill or empty the directory meanwhile (two removes
// of one task each planning from a listing with two names left a ghost
// directory).
func planUnlink(v view, child string, prev *change) []*change {
	p := format.Parent(child)
	if p == "" {
		return nil
	}
	names, err := v.listing(p)
	if err != nil || !slices.Contains(names, format.Name(child)) {
		return nil
	}
	c := &change{kind: chUnlink, item: p, name: format.Name(child)}
	if prev != nil {
		c.after = []*change{prev}
	}
	return []*change{c}
}

// pruneScope lists what prune(dir) touches: every item below dir, dir, and
// its ancestors. It reads through the task cache.
func (t *Task) pruneScope(ctx context.Context, dir string) ([]string, error) {
	docs, dirs, err := t.walkLevels(ctx, dir)
	if err != nil {
		return nil, err
	}
	paths := append(format.Ancestors(dir), dir)
	paths = append(paths, docs...)
	paths = append(paths, dirs...)
	return paths, nil
}

// planPrune plans prune(dir): rm of every document, rmdir of each directory
// after all its children, the directory itself last, then the unlink of
// its name. It reports false when the listings name items whose shards are
// not loaded yet (the caller loads and tries again).
func planPrune(v view, dir string) ([]*change, bool, error) {
	var cs []*change
	add := func(c *change, after ...*change) *change {
		c.after = after
		cs = append(cs, c)
		return c
	}
	var plan func(d string) (*change, bool, error)
	plan = func(d string) (*change, bool, error) {
		if !v.ready(d) {
			return nil, false, nil
		}
		names, err := v.listing(d)
		if err != nil {
			return nil, false, err
		}
		var deps []*change
		for _, n := range names {
			p := d + n
			if !v.ready(p) {
				return nil, false, nil
			}
			var c *change
			switch {
			case format.IsDir(p):
				var ok bool
				if c, ok, err = plan(p); err != nil || !ok {
					return nil, ok, err
				}
			case v.exists(p):
				c = add(&change{kind: chRm, item: p})
			default:
				c = add(&change{kind: chTouch, item: p, force: true})
			}
			deps = append(deps, c)
		}
		if len(names) == 0 && !v.exists(d) {
			// Missing directory: prove it with a write to its shard, so
			// that a parent still listing it may drop the name.
			return add(&change{kind: chTouch, item: d, force: true}, deps...), true, nil
		}
		return add(&change{kind: chRmdir, item: d}, deps...), true, nil
	}
	if !v.exists(dir) {
		if dir == "/" {
			return nil, true, nil
		}
		names, err := v.listing(format.Parent(dir))
		if err != nil {
			return nil, false, err
		}
		if !slices.Contains(names, format.Name(dir)) {
			return nil, true, nil // nothing there and nothing listing it
		}
	}
	top, ok, err := plan(dir)
	if err != nil || !ok {
		return nil, ok, err
	}
	if dir != "/" {
		cs = append(cs, planUnlink(v, dir, top)...)
	}
	return cs, true, nil
}
