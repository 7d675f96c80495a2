// Package sched turns item-level changes into write groups (design §6).
//
// A change is one edit of one item, bound for one shard, that may only be
// written after the changes it depends on are durably written. A group is
// one write request to one shard carrying one or more changes. The plan is
// built incrementally: changes arrive while earlier groups are being
// written, and failed groups hand their changes back to be planned again.
//
// The rules that keep the store safe:
//
//  1. A change may join the group of a change it depends on directly, on
//     the same shard: both land in one write, or neither does.
//  2. A change that depends on another change through a change on another
//     shard goes into a strictly later group: joining would need a cycle.
//  3. Otherwise a change may join any open group of its shard, as long as
//     group dependencies keep every change after everything it depends on.
//
// And the execution rules: a group that has started is closed; at most one
// group per shard is in flight; a group starts only when every group it
// depends on is done.
//
// The package knows nothing of shards' contents, adapters or paths; the
// engine attaches its own data to each change.
package sched

import (
	"fmt"
	"math"
	"slices"
)

// State is the life cycle of a group.
type State int

const (
	Open    State = iota // accepting changes
	Running              // write in flight; closed
	Done                 // durably written (or skipped as a no-op)
	Failed               // the write failed; its changes were handed back
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case Running:
		return "running"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Change is one item-level change. The engine sets Shard, Deps and Data
// before calling Plan.Add; the scheduler owns the rest.
type Change[T any] struct {
	Shard int
	Deps  []*Change[T]
	Data  T

	group *Group[T]
	done  bool
}

// Group returns the group the change was assigned to, or nil.
func (c *Change[T]) Group() *Group[T] { return c.group }

// IsDone reports whether the change has been durably written.
func (c *Change[T]) IsDone() bool { return c.done }

// Group is one write to one shard.
type Group[T any] struct {
	ID      int
	Shard   int
	Changes []*Change[T]
	State   State

	// deps and dependents count, per neighbouring group, how many change
	// dependencies tie the two together; a group edge exists while the
	// count is positive, so cancelling changes removes stale edges.
	deps       map[*Group[T]]int
	dependents map[*Group[T]]int
	depth      int    // 1 + the deepest group it depends on, done ones included
	mark       uint64 // the last reaches walk that visited it
}

// Depth is the group's position on the longest chain of groups leading to
// it (1 for a group that depends on nothing).
func (g *Group[T]) Depth() int { return g.depth }

// DependsOn reports whether g has a direct edge from h.
func (g *Group[T]) DependsOn(h *Group[T]) bool { return g.deps[h] > 0 }

// Plan is the evolving write plan of one task. It is not safe for
// concurrent use; the engine serialises access.
//
// Written groups leave the plan (only their count and depth are kept for N
// and D): a task that imports 100,000 entries in waves would otherwise
// keep every group, change and call of every wave alive, and scan them
// all on every Add, Ready and Groups.
type Plan[T any] struct {
	groups []*Group[T] // the open and running groups, in creation order
	// open lists each shard's open groups in creation order, so that Add
	// looks only at the groups it may join.
	open   map[int][]*Group[T]
	nextID int
	// doneN and doneD are N and D of the groups written so far.
	doneN, doneD int
	// optimized is set by Optimize once no merge is left, and cleared by
	// every change to the groups' changes or edges (Add, Cancel, Fail,
	// merge). Start and Done change neither the edges nor the depths of
	// open groups, so they leave it set: Optimize, which the engine calls
	// on every pump, then costs nothing until the plan changes again.
	optimized bool
	// walk numbers the calls of reaches and stack is its reused work
	// list, so that the reachability checks of planning allocate nothing.
	walk  uint64
	stack []*Group[T]
}

// New returns an empty plan.
func New[T any]() *Plan[T] { return &Plan[T]{open: map[int][]*Group[T]{}} }

// Add assigns c to a group: the earliest open group of its shard that it
// may legally join without lengthening any chain, else a new group.
// Every dependency of c must already have been added.
func (p *Plan[T]) Add(c *Change[T]) {
	if c.group != nil {
		panic("sched: change added twice")
	}
	p.optimized = false
	need := 1 // the depth a fresh group for c would have
	for _, d := range c.Deps {
		if d.done {
			continue
		}
		if d.group == nil {
			panic("sched: dependency not planned")
		}
		if d.group.depth+1 > need {
			need = d.group.depth + 1
		}
	}
	var best *Group[T]
	bestDepth := 0
	for _, g := range p.open[c.Shard] {
		depth, ok := p.joinDepth(g, c)
		if !ok {
			continue
		}
		if best == nil || depth < bestDepth {
			best, bestDepth = g, depth
		}
	}
	// Joining a group deeper than a fresh one would delay c and whatever
	// depends on it; a new group costs one more write but keeps D down.
	// Planning-time merging (Optimize) wins the write back when it can.
	if best == nil || bestDepth > need {
		best = p.newGroup(c.Shard)
	}
	p.attach(best, c)
}

// joinDepth reports whether c may join g, and g's depth if it did.
func (p *Plan[T]) joinDepth(g *Group[T], c *Change[T]) (int, bool) {
	depth := g.depth
	for _, d := range c.Deps {
		if !d.done && d.group != g && d.group.depth+1 > depth {
			depth = d.group.depth + 1
		}
	}
	// Raising the depth of a group that others wait on lengthens their
	// chains; only a group nothing depends on may grow. Checked before the
	// cycle checks, which cost more.
	if depth > g.depth && len(g.dependents) > 0 {
		return 0, false
	}
	for _, d := range c.Deps {
		// Rule 1: a direct dependency on the same shard may share the
		// write (d.group == g). Indirect ones through another shard are
		// caught by the cycle check on the other dependency: the edge
		// d.group -> g must not close a cycle, so g must not already
		// reach d.group.
		if !d.done && d.group != g && p.reaches(g, d.group) {
			return 0, false
		}
	}
	return depth, true
}

// reaches reports whether to is reachable from from along dependents.
//
// From an open group the walk is cut by depth. Every group that depends on
// an open group is open (it cannot start before it), and an open group's
// depth is exactly one more than its deepest dependency's, so depths
// strictly grow along every path from an open group: to is reachable only
// if it is open and deeper, and only through groups shallower than it.
// Planning an import of 30,000 entries into 256 shards spent 57% of its
// CPU in the uncut walk, which visited every put group below a link group.
// TestReachesMatchesFullWalk checks the cut walk against reachesFull.
func (p *Plan[T]) reaches(from, to *Group[T]) bool {
	if from == to {
		return true
	}
	if from.State != Open {
		return p.walkTo(from, to, math.MaxInt)
	}
	if to.State != Open || to.depth <= from.depth {
		return false
	}
	return p.walkTo(from, to, to.depth)
}

// reachesFull is reaches without the cut, for the test that checks it.
func (p *Plan[T]) reachesFull(from, to *Group[T]) bool {
	return from == to || p.walkTo(from, to, math.MaxInt)
}

// walkTo reports whether to is reachable from from along dependents,
// walking only groups shallower than depth.
func (p *Plan[T]) walkTo(from, to *Group[T], depth int) bool {
	p.walk++
	from.mark = p.walk
	stack := append(p.stack[:0], from)
	defer func() { p.stack = stack[:0] }()
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for h := range g.dependents {
			if h == to {
				return true
			}
			if h.mark != p.walk && h.depth < depth {
				h.mark = p.walk
				stack = append(stack, h)
			}
		}
	}
	return false
}

func (p *Plan[T]) newGroup(shard int) *Group[T] {
	p.nextID++
	g := &Group[T]{ID: p.nextID, Shard: shard, State: Open, depth: 1,
		deps: map[*Group[T]]int{}, dependents: map[*Group[T]]int{}}
	p.groups = append(p.groups, g)
	p.open[shard] = append(p.open[shard], g)
	return g
}

// forget removes g from the plan's lists of live and open groups.
func (p *Plan[T]) forget(g *Group[T]) {
	if i := slices.Index(p.groups, g); i >= 0 {
		p.groups = slices.Delete(p.groups, i, i+1)
	}
	p.closeGroup(g)
}

// closeGroup removes g from its shard's open groups.
func (p *Plan[T]) closeGroup(g *Group[T]) {
	open := p.open[g.Shard]
	if i := slices.Index(open, g); i >= 0 {
		open = slices.Delete(open, i, i+1)
	}
	if len(open) == 0 {
		delete(p.open, g.Shard)
	} else {
		p.open[g.Shard] = open
	}
}

func (p *Plan[T]) attach(g *Group[T], c *Change[T]) {
	c.group = g
	g.Changes = append(g.Changes, c)
	depth := g.depth
	for _, d := range c.Deps {
		if d.done || d.group == g {
			continue
		}
		g.deps[d.group]++
		d.group.dependents[g]++
		depth = max(depth, d.group.depth+1)
	}
	// New edges can only deepen g (it is open, so its depth is exactly
	// 1 + its deepest dependency's). When they do not, no depth changes
	// anywhere; skipping the walk over g's dependents keeps planning many
	// changes into a few groups linear instead of quadratic.
	if depth != g.depth {
		p.recomputeDepth(g)
	}
}

// recomputeDepth refreshes g's depth from its dependencies and pushes any
// change on to its dependents. Groups in flight or written keep the depth
// they ran at: it is history, and D reports what really happened.
func (p *Plan[T]) recomputeDepth(start *Group[T]) {
	queue := []*Group[T]{start}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		depth := 1
		for d := range g.deps {
			if d.depth+1 > depth {
				depth = d.depth + 1
			}
		}
		if (g.State == Done || g.State == Running) && depth < g.depth {
			depth = g.depth
		}
		if depth == g.depth && g != start {
			continue
		}
		g.depth = depth
		for h := range g.dependents {
			queue = append(queue, h)
		}
	}
}

// Cancel removes a change that has not started writing from the plan.
// It reports false if the change's group is already running or done.
func (p *Plan[T]) Cancel(c *Change[T]) bool {
	g := c.group
	if g == nil {
		return true
	}
	if g.State != Open {
		return false
	}
	p.optimized = false
	i := slices.Index(g.Changes, c)
	g.Changes = slices.Delete(g.Changes, i, i+1)
	c.group = nil
	for _, d := range c.Deps {
		if d.done || d.group == nil || d.group == g {
			continue
		}
		p.unlinkEdge(d.group, g)
	}
	// Changes of other groups may depend on c only if they belong to the
	// same caller, which cancels them too; edges from g to dependents stay
	// counted by those changes until they are cancelled.
	if len(g.Changes) == 0 {
		p.dropGroup(g)
	} else {
		p.recomputeDepth(g)
	}
	return true
}

func (p *Plan[T]) unlinkEdge(from, to *Group[T]) {
	from.dependents[to]--
	if from.dependents[to] <= 0 {
		delete(from.dependents, to)
	}
	to.deps[from]--
	if to.deps[from] <= 0 {
		delete(to.deps, from)
	}
}

func (p *Plan[T]) dropGroup(g *Group[T]) {
	for d := range g.deps {
		delete(d.dependents, g)
	}
	for h := range g.dependents {
		delete(h.deps, g)
		p.recomputeDepth(h)
	}
	p.forget(g)
}

// Ready returns the groups that may start now: open, non-empty, every
// dependency done, and no group of the same shard in flight. At most one
// group per shard is returned; ready groups of one shard are independent of
// each other, so they are merged into one write first.
func (p *Plan[T]) Ready() []*Group[T] {
	running := map[int]bool{}
	for _, g := range p.groups {
		if g.State == Running {
			running[g.Shard] = true
		}
	}
	byShard := map[int]*Group[T]{}
	var order []int
	for _, g := range slices.Clone(p.groups) {
		if g.State != Open || len(g.Changes) == 0 || running[g.Shard] || !p.depsDone(g) {
			continue
		}
		if first, ok := byShard[g.Shard]; ok {
			p.merge(first, g)
			continue
		}
		byShard[g.Shard] = g
		order = append(order, g.Shard)
	}
	out := make([]*Group[T], 0, len(order))
	for _, s := range order {
		out = append(out, byShard[s])
	}
	return out
}

func (p *Plan[T]) depsDone(g *Group[T]) bool {
	for d := range g.deps {
		if d.State != Done {
			return false
		}
	}
	// A change whose dependency was handed back by Fail has no group edge
	// left; it must wait until its owner re-plans or cancels it.
	for _, c := range g.Changes {
		for _, d := range c.Deps {
			if !d.done && d.group != g {
				return false
			}
		}
	}
	return true
}

// merge moves every change of src into dst and drops src. The caller
// guarantees that neither group reaches the other.
func (p *Plan[T]) merge(dst, src *Group[T]) {
	p.optimized = false
	for _, c := range src.Changes {
		c.group = dst
	}
	dst.Changes = append(dst.Changes, src.Changes...)
	src.Changes = nil
	for d, n := range src.deps {
		dst.deps[d] += n
		d.dependents[dst] += n
		delete(d.dependents, src)
	}
	for h, n := range src.dependents {
		dst.dependents[h] += n
		h.deps[dst] += n
		delete(h.deps, src)
	}
	src.deps, src.dependents = map[*Group[T]]int{}, map[*Group[T]]int{}
	p.forget(src)
	p.recomputeDepth(dst)
}

// Optimize merges independent open groups of the same shard wherever that
// does not increase D. It is the "after planning" pass of design §6; the
// engine calls it before starting writes.
//
// One pass over the pairs suffices: a merge only adds reachability and can
// only deepen groups, and it never changes D (it is made only when D stays
// as it is), so a pair rejected once stays rejected after later merges.
func (p *Plan[T]) Optimize() {
	if p.optimized {
		return // nothing changed since the last full pass
	}
	open := p.openGroups()
	// Only groups of one shard may merge: compare each group with the
	// later open groups of its own shard, in the order of a scan of all
	// pairs (i < j), without visiting the other pairs.
	byShard := map[int][]*Group[T]{}
	for _, g := range open {
		byShard[g.Shard] = append(byShard[g.Shard], g)
	}
	seen := map[int]int{} // open groups of each shard visited so far
	d := p.D()
	for _, a := range open {
		seen[a.Shard]++
		if len(a.Changes) == 0 {
			continue // merged into an earlier group
		}
		for _, b := range byShard[a.Shard][seen[a.Shard]:] {
			if len(b.Changes) == 0 || p.reaches(a, b) || p.reaches(b, a) {
				continue
			}
			if p.depthAfterMerge(a, b, d) > d {
				continue
			}
			p.merge(a, b)
		}
	}
	p.optimized = true
}

func (p *Plan[T]) openGroups() []*Group[T] {
	var out []*Group[T]
	for _, g := range p.groups {
		if g.State == Open && len(g.Changes) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// depthAfterMerge returns D as it would be if the independent open groups
// a and b of one shard were one group, given d, the plan's D now. The
// merged group has the depth of the deeper of the two, so the longest
// chain through it is that depth plus the longer of the chains that
// follow a or b; every other chain keeps its length. Groups that follow
// an open group are open, so their depths are exact and the walk stays in
// the part of the plan below a and b.
func (p *Plan[T]) depthAfterMerge(a, b *Group[T], d int) int {
	if a.depth == b.depth {
		return d // no depth changes at all
	}
	memo := map[*Group[T]]int{}
	return max(d, max(a.depth, b.depth)+max(p.height(a, memo), p.height(b, memo))-1)
}

// height is the number of groups on the longest chain that starts at g and
// follows dependents (1 for a group nothing depends on).
func (p *Plan[T]) height(g *Group[T], memo map[*Group[T]]int) int {
	if h, ok := memo[g]; ok {
		return h
	}
	h := 1
	for x := range g.dependents {
		h = max(h, 1+p.height(x, memo))
	}
	memo[g] = h
	return h
}

// Start closes g: nothing joins it any more.
func (p *Plan[T]) Start(g *Group[T]) {
	if g.State != Open {
		panic("sched: starting a group that is not open")
	}
	g.State = Running
	p.closeGroup(g)
}

// Done marks g durably written; its changes are satisfied dependencies
// from now on. g leaves the plan, counted in N and D. Its edges from the
// groups it waited on go (they are all done, and a written group's depth
// is history); those to open groups stay until they are written in turn,
// so that a plan never holds a chain of written groups.
func (p *Plan[T]) Done(g *Group[T]) {
	g.State = Done
	for _, c := range g.Changes {
		c.done = true
	}
	for d := range g.deps {
		delete(d.dependents, g)
	}
	g.deps = map[*Group[T]]int{}
	if len(g.Changes) > 0 {
		p.doneN++
		p.doneD = max(p.doneD, g.depth)
	}
	p.forget(g)
}

// Fail marks g failed and detaches its changes, which the caller plans
// again (or gives up on). Groups that depended on g keep their remaining
// edges only through changes the caller has yet to cancel.
func (p *Plan[T]) Fail(g *Group[T]) []*Change[T] {
	p.optimized = false
	g.State = Failed
	changes := g.Changes
	for _, c := range changes {
		c.group = nil
	}
	g.Changes = nil
	for h := range g.dependents {
		delete(h.deps, g)
		p.recomputeDepth(h)
	}
	for d := range g.deps {
		delete(d.dependents, g)
	}
	g.deps, g.dependents = map[*Group[T]]int{}, map[*Group[T]]int{}
	p.forget(g)
	return changes
}

// Groups returns the groups of the plan that hold changes (open or
// running), in creation order.
func (p *Plan[T]) Groups() []*Group[T] {
	var out []*Group[T]
	for _, g := range p.groups {
		if len(g.Changes) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// Running returns the group of shard in flight, or nil.
func (p *Plan[T]) Running(shard int) *Group[T] {
	for _, g := range p.groups {
		if g.Shard == shard && g.State == Running {
			return g
		}
	}
	return nil
}

// EachRunning calls fn for every group in flight (at most one per shard)
// until fn returns false.
func (p *Plan[T]) EachRunning(fn func(*Group[T]) bool) {
	for _, g := range p.groups {
		if g.State == Running && !fn(g) {
			return
		}
	}
}

// N is the number of write groups of the plan so far, written ones
// included (failed ones excluded).
func (p *Plan[T]) N() int { return p.doneN + len(p.Groups()) }

// D is the plan's depth: the longest chain of groups that must run one
// after another.
func (p *Plan[T]) D() int {
	max := p.doneD
	for _, g := range p.groups {
		if len(g.Changes) > 0 && g.depth > max {
			max = g.depth
		}
	}
	return max
}

// Pending reports whether any group is open or running.
func (p *Plan[T]) Pending() bool {
	for _, g := range p.groups {
		if (g.State == Open && len(g.Changes) > 0) || g.State == Running {
			return true
		}
	}
	return false
}
