package vault

import (
	"context"
	"sync"

	"github.com/vaultdb/vaultdb/vault/format"
	"github.com/vaultdb/vaultdb/vault/sched"
)

// A batch's calls are planned one after another by the caller's goroutine
// and then wait without a goroutine of their own: a planned call is a
// parked op, which the batch's dispatcher finishes when the scheduler
// signals that its writes have landed. Only a call that must plan again
// (after a conflict) or wait for another call's turn on its path gets a
// goroutine. A goroutine per call cost ~8 KB of stack each and kept the
// waves small (4,096 calls); a parked call costs ~2 KB, so waves on stores
// can be two to four times larger, and each wave rewrites every shard it
// touches once per level, whatever its size.

// batchWindow is the number of calls of a wave on a store of n shards when
// Options.BatchWindow is not set: twice Window, 64 calls a shard from 128
// shards on, at most four times Window. Each wave rewrites every shard it
// touches, the whole shard: an import of 100,000 entries into 4 shards in
// waves of 4,096 took 8.2-8.5 s of CPU, in waves of 8,192 6.0-6.2 s with
// 198-219 MB peak RSS against 195 (16,384: 4.9-5.5 s, 227-240 MB, too near
// the 250 MB this import is held to). Into 256 shards a wave of 4,096 was 16 calls a
// shard, and 30,000 entries wrote every shard about three times a wave in
// 8 waves.
func batchWindow(n int) int {
	return min(max(2*Window, 64*n), 4*Window)
}

// batchRun is one UpdateAll, UpdateEach or RemoveAll in progress.
type batchRun struct {
	t    *Task
	ctx  context.Context
	errs []error
	done func(i int, err error)

	kick chan struct{} // the dispatcher has work in queue
	// Guarded by t.mu:
	queue  []*op        // parked ops signalled since the dispatcher last looked
	parked map[*op]bool // parked ops not yet ended

	mu   sync.Mutex // guards the counts below; taken inside t.mu, never around it
	room *sync.Cond
	// underWay counts the calls whose changes have not all started
	// writing: what makes room for the next wave. A wave planned once the
	// last one's writes have all gone out joins the rounds of the wave
	// before it; waiting for the last one's calls to end as well cost a
	// round or two more (192 writes of 8 waves into 16 shards where this
	// makes 144). alive counts the calls not ended, for memory.
	underWay, alive int
	all             sync.WaitGroup
}

// batchCall is what a parked op needs to end: its index and its turn.
type batchCall struct {
	b       *batchRun
	i       int
	release func()
	parked  bool // planned: the dispatcher owns its waiting
	counted bool // counted in underWay (guarded by the task's mutex)
}

// notifyLocked queues a parked op for the dispatcher; op.signal calls it
// with t.mu held. Signals before the op is parked are dropped: the
// producer looks at the op itself once it has planned.
func (b *batchRun) notifyLocked(o *op) {
	if !o.bc.parked {
		return
	}
	b.queue = append(b.queue, o)
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// batch runs the write calls newOp(i) for paths, a wave at a time. The
// next wave plans once this one's writes have all started, while the last
// of them are in flight: its changes join this wave's later rounds on the
// same shards instead of starting rounds of their own. Waiting for each
// wave to finish cost every shard about one write per level per wave:
// 30,000 new entries three levels deep into 256 shards were 8 waves of 3
// rounds, 6,117 writes. Options.BatchWaves lets more waves be under way.
// Calls on one path run one at a time, in no set order.
func (t *Task) batch(ctx context.Context, paths []string, newOp func(i int) *op, done func(i int, err error)) []error {
	if done == nil {
		done = func(int, error) {}
	}
	b := &batchRun{t: t, ctx: ctx, errs: make([]error, len(paths)), done: done,
		kick: make(chan struct{}, 1), parked: map[*op]bool{}}
	b.room = sync.NewCond(&b.mu)
	window, waves := t.s.opts.BatchWindow, t.s.opts.BatchWaves
	if window <= 0 {
		window = batchWindow(t.s.router.N())
	}
	if waves <= 0 {
		waves = 1
	}
	stop := make(chan struct{})
	dispatched := make(chan struct{})
	go func() {
		b.dispatch(stop)
		close(dispatched)
	}()
	for start := 0; start < len(paths); start += window {
		var wave []int
		for i := start; i < min(len(paths), start+window); i++ {
			if err := format.CheckDoc(paths[i]); err != nil {
				b.errs[i] = err
				done(i, err)
				continue
			}
			wave = append(wave, i)
		}
		// Room first, then the count: counted calls that could not start
		// would keep the scheduler from finishing the calls that make room.
		b.mu.Lock()
		for b.underWay > 0 && b.underWay+len(wave) > waves*window ||
			b.alive > 0 && b.alive+len(wave) > (waves+2)*window {
			b.room.Wait()
		}
		// A caller that gave up starts no more calls: each would still run
		// its update function and plan, and the last of a wave to plan
		// would send its links before its own cancellation dropped the
		// rest (names listed with no document behind them).
		if err := ctx.Err(); err != nil {
			b.mu.Unlock()
			for _, i := range wave {
				b.errs[i] = err
				done(i, err)
			}
			continue
		}
		b.underWay += len(wave)
		b.alive += len(wave)
		b.mu.Unlock()
		b.all.Add(len(wave))
		b.runWave(paths, wave, newOp)
	}
	b.all.Wait()
	close(stop)
	<-dispatched
	return b.errs
}

// runWave plans the calls of one wave. The scheduler writes nothing while
// the wave plans (it counts as one call preparing), so the wave's changes
// are grouped together: calls whose goroutines started late on a loaded
// machine used to be planned after the first writes had gone out, and
// cost rounds of their own.
func (b *batchRun) runWave(paths []string, wave []int, newOp func(i int) *op) {
	t, ctx := b.t, b.ctx
	t.mu.Lock()
	t.preparing++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		// A caller that gave up mid-wave: the calls planned before it did
		// must not send their first writes now, in the pump below, before
		// the dispatcher abandons them (names listed with no document).
		if err := ctx.Err(); err != nil {
			for o := range b.parked {
				if !o.finished {
					t.cancelLocked(o)
					t.finishLocked(o, err)
				}
			}
		}
		t.preparing--
		t.pumpLocked()
		t.mu.Unlock()
	}()
	// Every shard of the wave read at once, in parallel, before the calls
	// plan one by one (each would otherwise wait for its own reads).
	seen := map[string]bool{}
	var need []string
	for _, i := range wave {
		for _, p := range append(format.Ancestors(paths[i]), paths[i]) {
			if !seen[p] {
				seen[p] = true
				need = append(need, p)
			}
		}
	}
	// A failed read fails each call below through its own load.
	_ = t.load(ctx, t.shardsOf(need...))

	for k, i := range wave {
		if err := ctx.Err(); err != nil {
			// A caller that gave up plans no more calls: each would run
			// its update function and plan after the cancellation.
			for _, i := range wave[k:] {
				b.mu.Lock()
				b.underWay--
				b.mu.Unlock()
				b.end(i, err)
			}
			return
		}
		o := newOp(i)
		o.wake = make(chan struct{}, 1)
		o.bc = &batchCall{b: b, i: i, counted: true}
		t.mu.Lock()
		t.live[o] = true
		release, ok := t.tryTurnLocked(o.path)
		if !ok {
			// Another call of this task holds the path (the same path twice
			// in a batch, or a caller's own update): wait for it apart.
			o.bc = nil
			t.mu.Unlock()
			go func() {
				err := t.runLive(ctx, o)
				b.mu.Lock()
				b.underWay--
				b.mu.Unlock()
				b.end(i, err)
			}()
			continue
		}
		o.bc.release = release
		if t.fatal != nil {
			t.finishLocked(o, t.fatal)
		}
		finished := o.finished
		t.mu.Unlock()
		var err error
		if !finished {
			err = t.prepare(ctx, o)
		}
		t.mu.Lock()
		if err != nil && !o.finished {
			t.finishLocked(o, err)
		}
		o.bc.parked = true
		b.parked[o] = true
		b.notifyLocked(o)
		t.mu.Unlock()
	}
}

// dispatch ends or resumes parked calls as the scheduler signals them,
// until stop. Once the caller's context ends, every parked call is
// abandoned and ends with its error at once, as a call's await does.
func (b *batchRun) dispatch(stop chan struct{}) {
	t := b.t
	cancelled := b.ctx.Done()
	var ctxErr error
	for {
		select {
		case <-stop:
			return
		case <-cancelled:
			cancelled = nil // seen; from now on every parked call ends
			ctxErr = b.ctx.Err()
		case <-b.kick:
		}
		t.mu.Lock()
		q := b.queue
		b.queue = nil
		if ctxErr != nil {
			q = q[:0]
			for o := range b.parked {
				q = append(q, o)
			}
		}
		var ended, resumed []*op
		var errs []error
		for _, o := range q {
			if !b.parked[o] {
				continue
			}
			if ctxErr != nil {
				delete(b.parked, o)
				o.bc.parked = false // late signals go to o.wake, unread
				if o.finished && !t.inFlightLocked(o) {
					// Ended before the caller gave up: its own outcome.
					ended, errs = append(ended, o), append(errs, opErr(o))
					continue
				}
				if !o.finished {
					t.cancelLocked(o)
					t.finishLocked(o, ctxErr)
				}
				ended, errs = append(ended, o), append(errs, ctxErr)
				continue
			}
			// The rule of await: a call ends, or plans again, only once
			// none of its writes is in flight.
			if !(o.finished || o.replan) || t.inFlightLocked(o) {
				continue
			}
			delete(b.parked, o)
			o.bc.parked = false
			if o.finished {
				ended, errs = append(ended, o), append(errs, opErr(o))
			} else {
				resumed = append(resumed, o)
			}
		}
		t.mu.Unlock()
		for k, o := range ended {
			b.leave(o, errs[k])
		}
		for _, o := range resumed {
			// A conflict: the call plans again in a goroutine of its own,
			// as any call does.
			go func() {
				err := t.drive(b.ctx, o, true)
				b.leave(o, err)
			}()
		}
	}
}

// opErr is the error a finished call returns.
func opErr(o *op) error {
	if o.err == nil {
		return nil
	}
	return &OpError{o.kind.String(), o.path, o.err}
}

// leave ends a call that planned in the batch: it is no longer live, its
// turn passes on, and its outcome is recorded.
func (b *batchRun) leave(o *op, err error) {
	t := b.t
	t.mu.Lock()
	delete(t.live, o)
	b.startedLocked(o, true)
	release := o.bc.release
	i := o.bc.i
	t.mu.Unlock()
	release()
	b.end(i, err)
}

// startedLocked stops counting o as under way once every change of its
// plan has started writing (or o ends); the pump calls it as groups start.
func (b *batchRun) startedLocked(o *op, ended bool) {
	if !o.bc.counted {
		return
	}
	if !ended {
		for _, c := range o.changes {
			if g := c.sc.Group(); !c.sc.IsDone() && (g == nil || g.State != sched.Running) {
				return
			}
		}
	}
	o.bc.counted = false
	b.mu.Lock()
	b.underWay--
	b.room.Signal()
	b.mu.Unlock()
}

func (b *batchRun) end(i int, err error) {
	b.errs[i] = err
	b.done(i, err)
	b.mu.Lock()
	b.alive--
	b.room.Signal()
	b.mu.Unlock()
	b.all.Done()
}
