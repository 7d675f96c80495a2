package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vaultdb/vaultdb/vault/sched"
)

// The life of one write call: its turn on its path, planning and waiting
// for its writes, re-planning after conflicts, and its end.

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
	relink bool       // link every edge even if the document exists (repair)
	carry  []followUp // follow-ups of landed writes, for the next plan

	changes  []*change // the current plan's changes
	replan   bool      // a conflict invalidated the plan; plan again
	attempts int       // re-plans so far
	finished bool
	err      error
	wake     chan struct{} // signalled on every state change
	// bc is set for a call of a batch (batch.go); while it is parked, its
	// signals go to the batch's dispatcher instead of wake.
	bc *batchCall
}

// signal says that o's state changed; callers hold the task's mutex.
func (o *op) signal() {
	if o.bc != nil && o.bc.parked {
		o.bc.b.notifyLocked(o)
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run executes one write call: plan it, let the scheduler write it, and
// plan it again after conflicts until it is done or fails.
func (t *Task) run(ctx context.Context, o *op) error {
	o.wake = make(chan struct{}, 1)
	t.mu.Lock()
	t.live[o] = true
	t.mu.Unlock()
	return t.runLive(ctx, o)
}

// runLive is run for a call already counted live.
func (t *Task) runLive(ctx context.Context, o *op) error {
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
	return t.drive(ctx, o, false)
}

// drive plans o, waits for its writes and plans it again after conflicts,
// until it is done or fails. With planned, o has planned already (a batch
// call that must plan again) and drive starts by waiting.
func (t *Task) drive(ctx context.Context, o *op, planned bool) error {
	for {
		if !planned {
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
		}
		planned = false

		if err := t.await(ctx, o); err != nil {
			return err
		}
		t.mu.Lock()
		if o.finished {
			err := opErr(o)
			t.mu.Unlock()
			return err
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

// turn waits until no other call of the task holds path, and takes it.
func (t *Task) turn(ctx context.Context, path string) (func(), error) {
	for {
		t.mu.Lock()
		if release, ok := t.tryTurnLocked(path); ok {
			t.mu.Unlock()
			return release, nil
		}
		ch := t.turns[path]
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryTurnLocked takes path's turn if no call holds it; release gives it
// back.
func (t *Task) tryTurnLocked(path string) (release func(), ok bool) {
	if _, busy := t.turns[path]; busy {
		return nil, false
	}
	mine := make(chan struct{})
	t.turns[path] = mine
	return func() {
		t.mu.Lock()
		delete(t.turns, path)
		t.mu.Unlock()
		close(mine)
	}, true
}

func (t *Task) inFlightLocked(o *op) bool {
	for _, c := range o.changes {
		if g := c.sc.Group(); g != nil && g.State == sched.Running {
			return true
		}
	}
	return false
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
// call at once (design §7).
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

func allDone(o *op) bool {
	for _, c := range o.changes {
		if !c.sc.IsDone() {
			return false
		}
	}
	return true
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
