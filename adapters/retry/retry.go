// Package retry retries transient failures of a blob store.
//
// Only errors matching adapters.ErrTransient are retried. Conflicts, "not
// found", authorisation failures and permanent errors are returned at once:
// retrying cannot change them. A request that exceeds the per-request
// timeout while the caller's context is still live counts as transient.
//
// Between attempts the wrapper waits with exponential back-off and full
// jitter (a uniformly random wait between zero and the back-off), so that
// clients failing together do not retry together. If the error carries the
// store's own hint (adapters.RetryAfterError, from an HTTP Retry-After
// header) the wait is the hint plus that jitter: a store that refuses
// several writers at once gives them all the same hint, and writers that
// waited exactly the hint would come back together and collide again. Retries stop after a maximum
// number of attempts or when the next wait would pass the overall time
// limit; the error returned then still matches ErrTransient and says how
// many attempts were made.
//
// Retrying a write is safe under compare-and-swap: if an attempt that
// reported a transient error did in fact write (the response was lost), the
// next attempt finds a new revision and fails with ErrConflict. That
// conflict is the write's own, so before reporting it the wrapper reads the
// blob once: if it holds exactly the bytes sent, the write landed and its
// revision is returned as a success. Otherwise "store already exists" from
// init, or "nothing was written" from passwd, would be said about the
// caller's own write. This relies on the bytes of a write being unique, as
// the engine's are (every blob is encrypted under a fresh random nonce).
//
// Retries are reported through an optional callback; the wrapper never
// prints. The clock, sleep and jitter can be replaced so tests run fast and
// exactly.
package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Adapter)(nil)

// Defaults used for zero Options fields.
const (
	DefaultMaxAttempts    = 5
	DefaultMaxPaced       = 20
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxElapsed     = 60 * time.Second
)

// Options configures retries. The zero value gives the defaults.
type Options struct {
	// MaxAttempts is the most attempts made per request, the first included.
	// Attempts refused with a Retry-After hint count toward MaxPaced
	// instead.
	MaxAttempts int
	// MaxPaced is the most attempts per request refused with the store's
	// Retry-After hint. Zero means MaxAttempts when that is set (a caller
	// that bounds the attempts gets that bound), else DefaultMaxPaced.
	MaxPaced int
	// InitialBackoff is the back-off before the second attempt; it doubles
	// for every further attempt, up to MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// RequestTimeout bounds each attempt. Negative means no bound.
	RequestTimeout time.Duration
	// MaxElapsed bounds the time from the first attempt to the start of the
	// last one: no retry is started that would wait past it. Negative means
	// no bound.
	MaxElapsed time.Duration

	// OnRetry, if not nil, is called before each wait for a retry.
	OnRetry func(RetryEvent)

	// Sleep waits for d or until ctx is done, returning ctx.Err() then.
	// Nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Jitter returns a wait in [0, d]. Nil means uniformly random.
	Jitter func(d time.Duration) time.Duration
}

// RetryEvent describes a failed attempt that is about to be retried.
type RetryEvent struct {
	Op      string        // "read" or "write"
	ID      string        // blob id
	Attempt int           // the attempt that failed, from 1
	Wait    time.Duration // wait before the next attempt
	Err     error         // the error of the failed attempt
}

// GaveUpError is returned when a request still failed with a transient error
// after the last attempt allowed. It matches what the last error matched,
// so errors.Is(err, adapters.ErrTransient) holds.
type GaveUpError struct {
	Attempts int
	Err      error // the last attempt's error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts)", e.Err, e.Attempts)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// Adapter retries transient failures of an inner blob store.
type Adapter struct {
	inner adapters.Adapter
	opts  Options
}

// New returns inner wrapped so that transient failures are retried as opts
// says.
func New(inner adapters.Adapter, opts Options) *Adapter {
	if opts.MaxPaced <= 0 {
		opts.MaxPaced = DefaultMaxPaced
		if opts.MaxAttempts > 0 {
			opts.MaxPaced = opts.MaxAttempts
		}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxElapsed == 0 {
		opts.MaxElapsed = DefaultMaxElapsed
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration {
			return time.Duration(rand.Uint64N(uint64(d) + 1))
		}
	}
	return &Adapter{inner: inner, opts: opts}
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	var data []byte
	rev, err := a.do(ctx, "read", id, nil, func(ctx context.Context) (adapters.Rev, error) {
		var (
			rev adapters.Rev
			err error
		)
		data, rev, err = a.inner.Read(ctx, id)
		return rev, err
	})
	if err != nil {
		return nil, adapters.NoRev, err
	}
	return data, rev, nil
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return a.do(ctx, "write", id, data, func(ctx context.Context) (adapters.Rev, error) {
		return a.inner.Write(ctx, id, data, rev)
	})
}

func (a *Adapter) do(ctx context.Context, op, id string, sent []byte, fn func(context.Context) (adapters.Rev, error)) (adapters.Rev, error) {
	start := a.opts.Now()
	failed, paced := 0, 0 // attempts that failed, without and with a hint
	for attempt := 1; ; attempt++ {
		rev, err := a.attempt(ctx, op, id, fn)
		if err != nil && attempt > 1 && op == "write" && errors.Is(err, adapters.ErrConflict) && ctx.Err() == nil {
			if landed, ok := a.landed(ctx, id, sent); ok {
				return landed, nil
			}
		}
		if err == nil || !adapters.IsRetryable(err) || ctx.Err() != nil {
			return rev, err
		}
		hint, hinted := adapters.RetryAfter(err)
		if hinted {
			paced++
		} else {
			failed++
		}
		if failed >= a.opts.MaxAttempts || paced >= a.opts.MaxPaced {
			return adapters.NoRev, &GaveUpError{Attempts: attempt, Err: err}
		}
		wait := a.opts.Jitter(a.backoff(attempt)) + hint
		if a.opts.MaxElapsed > 0 && a.opts.Now().Sub(start)+wait > a.opts.MaxElapsed {
			return adapters.NoRev, &GaveUpError{Attempts: attempt, Err: err}
		}
		if a.opts.OnRetry != nil {
			a.opts.OnRetry(RetryEvent{Op: op, ID: id, Attempt: attempt, Wait: wait, Err: err})
		}
		if err := a.opts.Sleep(ctx, wait); err != nil {
			return adapters.NoRev, adapters.NewError(op, id, nil, fmt.Errorf("stopped retrying after %d attempts: %w", attempt, err))
		}
	}
}

// landed reports whether blob id holds exactly sent, and its revision: the
// check of a conflict that follows an attempt whose outcome was unknown.
// A failed read counts as "no".
func (a *Adapter) landed(ctx context.Context, id string, sent []byte) (adapters.Rev, bool) {
	var data []byte
	rev, err := a.attempt(ctx, "read", id, func(ctx context.Context) (adapters.Rev, error) {
		var (
			rev adapters.Rev
			err error
		)
		data, rev, err = a.inner.Read(ctx, id)
		return rev, err
	})
	if err != nil || !bytes.Equal(data, sent) {
		return adapters.NoRev, false
	}
	return rev, true
}

// attempt makes one attempt under the per-request timeout.
func (a *Adapter) attempt(ctx context.Context, op, id string, fn func(context.Context) (adapters.Rev, error)) (adapters.Rev, error) {
	if a.opts.RequestTimeout < 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, a.opts.RequestTimeout)
	defer cancel()
	rev, err := fn(actx)
	if err != nil && ctx.Err() == nil && actx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		// Our own timeout, not the caller's: the store was too slow this
		// time, which is worth another try.
		err = adapters.NewError(op, id, adapters.ErrTransient,
			fmt.Errorf("request timed out after %s", a.opts.RequestTimeout))
	}
	return rev, err
}

// backoff returns the back-off ceiling after the given failed attempt.
func (a *Adapter) backoff(attempt int) time.Duration {
	d := min(a.opts.InitialBackoff, a.opts.MaxBackoff)
	for i := 1; i < attempt; i++ {
		if d > a.opts.MaxBackoff/2 {
			return a.opts.MaxBackoff
		}
		d *= 2
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Unwrap returns the adapter below this layer (see adapters.List).
func (a *Adapter) Unwrap() adapters.Adapter { return a.inner }
