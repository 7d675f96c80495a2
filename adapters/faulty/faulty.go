// Package faulty injects failures into a blob store, for tests.
//
// It produces the failures a remote store produces: transient read errors;
// transient write errors that happen before the write (nothing written) or
// after it (the content was written but the client hears an error, the
// "may or may not have happened" case callers must handle); spurious
// conflicts; and a deterministic mode in which every request after the Nth
// fails. Injected errors are ordinary adapters errors of the right kind that
// also match ErrInjected, so tests can tell them from real ones.
//
// The random choices come from a seeded generator, so a failing run can be
// repeated exactly (as long as the order of requests is the same). The
// wrapper is safe for concurrent use and counts what it injected.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Adapter)(nil)

// ErrInjected is matched by every error the wrapper injects.
var ErrInjected = errors.New("injected fault")

// Options says which faults to inject. Probabilities are in [0, 1]; values
// outside are clamped. The zero value injects nothing.
type Options struct {
	// Seed seeds the random choices.
	Seed uint64
	// ReadError is the probability that a read fails with a transient error
	// without reaching the store.
	ReadError float64
	// WriteErrorBefore is the probability that a write fails with a
	// transient error without reaching the store.
	WriteErrorBefore float64
	// WriteErrorAfter is the probability that a write reaches the store and,
	// if it succeeded there, reports a transient error anyway.
	WriteErrorAfter float64
	// WriteConflict is the probability that a write fails with a spurious
	// ErrConflict without reaching the store.
	WriteConflict float64
	// FailAfter, if positive, makes every request after the first FailAfter
	// requests fail with a transient error without reaching the store.
	// Requests are counted whether or not injection is enabled.
	FailAfter int
}

// Counts reports what the wrapper saw and injected.
type Counts struct {
	Requests          int // requests seen, including failed ones
	ReadErrors        int // transient read errors from ReadError
	WriteErrorsBefore int // transient write errors from WriteErrorBefore
	WriteErrorsAfter  int // writes that happened but reported an error
	Conflicts         int // spurious conflicts
	FailedAfter       int // requests failed by FailAfter
}

// Injected returns the total number of injected failures.
func (c Counts) Injected() int {
	return c.ReadErrors + c.WriteErrorsBefore + c.WriteErrorsAfter + c.Conflicts + c.FailedAfter
}

// Adapter injects faults into requests to an inner blob store.
type Adapter struct {
	inner adapters.Adapter
	opts  Options

	mu       sync.Mutex
	rnd      *rand.Rand
	disabled bool
	counts   Counts
}

// New returns inner wrapped so that faults are injected as opts says.
// Injection starts enabled.
func New(inner adapters.Adapter, opts Options) *Adapter {
	for _, p := range []*float64{&opts.ReadError, &opts.WriteErrorBefore, &opts.WriteErrorAfter, &opts.WriteConflict} {
		*p = min(max(*p, 0), 1)
	}
	return &Adapter{
		inner: inner,
		opts:  opts,
		rnd:   rand.New(rand.NewPCG(opts.Seed, 0)),
	}
}

// SetEnabled switches injection on or off. While off, requests pass through
// untouched (but are still counted).
func (a *Adapter) SetEnabled(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.disabled = !on
}

// Enabled reports whether injection is on.
func (a *Adapter) Enabled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.disabled
}

// Counts returns what the wrapper has seen and injected so far.
func (a *Adapter) Counts() Counts {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	a.mu.Lock()
	fail := a.failAfterLocked()
	if !fail && a.chanceLocked(a.opts.ReadError) {
		a.counts.ReadErrors++
		fail = true
	}
	a.mu.Unlock()
	if fail {
		return nil, adapters.NoRev, adapters.NewError("read", id, adapters.ErrTransient, ErrInjected)
	}
	return a.inner.Read(ctx, id)
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	a.mu.Lock()
	var injected error
	after := false
	switch {
	case a.failAfterLocked():
		injected = adapters.NewError("write", id, adapters.ErrTransient, ErrInjected)
	case a.chanceLocked(a.opts.WriteErrorBefore):
		a.counts.WriteErrorsBefore++
		injected = adapters.NewError("write", id, adapters.ErrTransient, fmt.Errorf("%w before the write", ErrInjected))
	case a.chanceLocked(a.opts.WriteConflict):
		a.counts.Conflicts++
		injected = adapters.NewError("write", id, adapters.ErrConflict, ErrInjected)
	default:
		after = a.chanceLocked(a.opts.WriteErrorAfter)
	}
	a.mu.Unlock()
	if injected != nil {
		return adapters.NoRev, injected
	}

	newRev, err := a.inner.Write(ctx, id, data, rev)
	if err != nil || !after {
		return newRev, err
	}
	a.mu.Lock()
	a.counts.WriteErrorsAfter++
	a.mu.Unlock()
	return adapters.NoRev, adapters.NewError("write", id, adapters.ErrTransient, fmt.Errorf("%w after the write", ErrInjected))
}

// failAfterLocked counts the request and reports whether FailAfter fails it.
func (a *Adapter) failAfterLocked() bool {
	a.counts.Requests++
	if a.disabled || a.opts.FailAfter <= 0 || a.counts.Requests <= a.opts.FailAfter {
		return false
	}
	a.counts.FailedAfter++
	return true
}

// chanceLocked reports true with probability p while injection is enabled.
func (a *Adapter) chanceLocked(p float64) bool {
	if a.disabled || p <= 0 {
		return false
	}
	return a.rnd.Float64() < p
}

// Unwrap returns the adapter below this layer (see adapters.List).
func (a *Adapter) Unwrap() adapters.Adapter { return a.inner }
