// Package stack is the one place where the adapter wrappers are composed,
// so that every caller gets them in the same order.
//
// From the store outward the order is:
//
//  1. latency: simulates a slow store, so it sits right on top of the base
//     store, where the delay of a real remote store would be.
//  2. faulty: faults happen at the store, so they are injected below
//     everything that must cope with them.
//  3. limit: a bound on the writes in flight, for stores that refuse
//     overlapping writes (adapters.WriteLimiter, such as Dropbox). Above
//     latency and faults, so a write holds its slot for as long as the store
//     takes; below retry, so a request waiting between attempts lets another
//     write go.
//  4. retry: above the faults, so injected transient failures are retried
//     exactly like real ones, with their back-off and limits.
//  5. trace: outermost, so it reports one event per logical request the
//     engine made (with the retries, waits and delays included in its
//     duration) and counts rounds as the engine experienced them.
//
// Each layer is present only when its option is set.
package stack

import (
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/limit"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

// Options selects the layers. The zero value adds none.
type Options struct {
	// Latency and Jitter, if either is positive, add a latency layer with
	// that fixed delay and uniform jitter.
	Latency time.Duration
	Jitter  time.Duration
	// Faults, if not nil, adds a fault-injection layer.
	Faults *faulty.Options
	// MaxWrites, if positive, bounds the writes in flight at once. Zero
	// means the base store's own bound, if it declares one
	// (adapters.WriteLimiter); negative means no bound.
	MaxWrites int
	// Retry, if not nil, adds a retry layer; &retry.Options{} gives the
	// default retry policy. Real stores should always have one.
	Retry *retry.Options
	// Trace, if not nil, adds a trace layer reporting to it.
	Trace func(trace.Event)
}

// Build returns base wrapped in the layers opts selects, in the order given
// in the package documentation.
func Build(base adapters.Adapter, opts Options) adapters.Adapter {
	a := base
	if opts.Latency > 0 || opts.Jitter > 0 {
		a = latency.New(a, latency.Options{Delay: opts.Latency, Jitter: opts.Jitter})
	}
	if opts.Faults != nil {
		a = faulty.New(a, *opts.Faults)
	}
	n := opts.MaxWrites
	if wl, ok := base.(adapters.WriteLimiter); ok && n == 0 {
		n = wl.MaxConcurrentWrites()
	}
	if n > 0 {
		a = limit.New(a, n)
	}
	if opts.Retry != nil {
		a = retry.New(a, *opts.Retry)
	}
	if opts.Trace != nil {
		a = trace.New(a, opts.Trace)
	}
	return a
}
