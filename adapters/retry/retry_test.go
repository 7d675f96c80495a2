package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/retry"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return retry.New(memory.New(), retry.Options{})
	})
}

// clock is a fake clock whose Sleep advances time at once.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	return ctx.Err()
}

// options returns retry options on c with no jitter, so waits are exact.
func (c *clock) options() retry.Options {
	return retry.Options{
		Now:            c.Now,
		Sleep:          c.Sleep,
		Jitter:         func(d time.Duration) time.Duration { return d },
		InitialBackoff: 100 * time.Millisecond,
		MaxBackoff:     400 * time.Millisecond,
		MaxAttempts:    10,
		MaxElapsed:     time.Hour,
	}
}

// script is a store whose requests fail with the given errors in turn, and
// succeed once they are used up.
type script struct {
	mu    sync.Mutex
	errs  []error
	calls int
	// block, if set, makes a request wait for its context before failing.
	block func(call int) bool
}

func (s *script) next(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	call := s.calls
	var err error
	if call <= len(s.errs) {
		err = s.errs[call-1]
	}
	s.mu.Unlock()
	if s.block != nil && s.block(call) {
		<-ctx.Done()
		return adapters.NewError("read", "x", nil, ctx.Err())
	}
	return err
}

func (s *script) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	if err := s.next(ctx); err != nil {
		return nil, adapters.NoRev, err
	}
	return []byte("data"), "r1", nil
}

func (s *script) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	if err := s.next(ctx); err != nil {
		return adapters.NoRev, err
	}
	return "r2", nil
}

func transient(n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = adapters.NewError("read", "x", adapters.ErrTransient, fmt.Errorf("failure %d", i+1))
	}
	return errs
}

type retryAfterErr struct{ d time.Duration }

func (e retryAfterErr) Error() string             { return "429 too many requests" }
func (e retryAfterErr) RetryAfter() time.Duration { return e.d }

func TestBackoff(t *testing.T) {
	c := newClock()
	s := &script{errs: transient(5)}
	var events []retry.RetryEvent
	opts := c.options()
	opts.OnRetry = func(e retry.RetryEvent) { events = append(events, e) }
	a := retry.New(s, opts)

	data, rev, err := a.Read(context.Background(), "x")
	if err != nil || string(data) != "data" || rev != "r1" {
		t.Fatalf("Read = %q, %q, %v", data, rev, err)
	}
	if s.calls != 6 {
		t.Fatalf("%d attempts, want 6", s.calls)
	}
	want := []time.Duration{100, 200, 400, 400, 400}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if fmt.Sprint(c.waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", c.waits, want)
	}
	if len(events) != 5 {
		t.Fatalf("%d retry events, want 5", len(events))
	}
	for i, e := range events {
		if e.Op != "read" || e.ID != "x" || e.Attempt != i+1 || e.Wait != want[i] || !strings.Contains(e.Err.Error(), fmt.Sprintf("failure %d", i+1)) {
			t.Errorf("event %d = %+v", i, e)
		}
	}
}

func TestFullJitter(t *testing.T) {
	c := newClock()
	opts := c.options()
	opts.Jitter = nil
	opts.MaxAttempts = 50
	a := retry.New(&script{errs: transient(40)}, opts)
	if _, _, err := a.Read(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	distinct := map[time.Duration]bool{}
	for i, d := range c.waits {
		ceiling := 400 * time.Millisecond
		if i < 2 {
			ceiling = 100 * time.Millisecond << i
		}
		if d < 0 || d > ceiling {
			t.Fatalf("wait %d = %v, want within [0, %v]", i, d, ceiling)
		}
		distinct[d] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("waits are not jittered: %v", c.waits)
	}
}

func TestRetryAfter(t *testing.T) {
	c := newClock()
	s := &script{errs: []error{
		adapters.NewError("read", "x", adapters.ErrTransient, retryAfterErr{3 * time.Second}),
		adapters.NewError("read", "x", adapters.ErrTransient, retryAfterErr{time.Millisecond}),
	}}
	a := retry.New(s, c.options())
	if _, _, err := a.Read(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	// The wait is the hint plus the jittered back-off (here the jitter is
	// the whole back-off: 100 ms, then 200 ms).
	if want := "[3.1s 201ms]"; fmt.Sprint(c.waits) != want {
		t.Fatalf("waits %v, want %v", c.waits, want)
	}
}

// TestRetryAfterSpreadsClients: writers refused together with the same
// Retry-After must not come back together. Waiting exactly the hint (the
// old rule, max(hint, jittered back-off)) made them retry in lock-step.
func TestRetryAfterSpreadsClients(t *testing.T) {
	const hint = time.Second
	waits := map[time.Duration]bool{}
	for range 8 {
		var got time.Duration
		opts := retry.Options{
			Sleep: func(ctx context.Context, d time.Duration) error { got = d; return nil },
			Now:   func() time.Time { return time.Time{} },
		}
		s := &script{errs: []error{adapters.NewError("write", "x", adapters.ErrTransient, retryAfterErr{hint})}}
		if _, err := retry.New(s, opts).Write(context.Background(), "x", nil, adapters.NoRev); err != nil {
			t.Fatal(err)
		}
		if got < hint || got > hint+retry.DefaultInitialBackoff {
			t.Fatalf("wait %v, want within [%v, %v]", got, hint, hint+retry.DefaultInitialBackoff)
		}
		waits[got] = true
	}
	if len(waits) < 6 {
		t.Fatalf("8 writers refused with the same hint wait only %d distinct times: %v", len(waits), waits)
	}
}

func TestMaxAttempts(t *testing.T) {
	c := newClock()
	opts := c.options()
	opts.MaxAttempts = 3
	s := &script{errs: transient(10)}
	_, err := retry.New(s, opts).Write(context.Background(), "x", nil, adapters.NoRev)
	if !errors.Is(err, adapters.ErrTransient) {
		t.Fatalf("Write = %v, want ErrTransient", err)
	}
	var gu *retry.GaveUpError
	if !errors.As(err, &gu) || gu.Attempts != 3 || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("Write = %v, want a GaveUpError after 3 attempts", err)
	}
	if s.calls != 3 || len(c.waits) != 2 {
		t.Fatalf("%d attempts and %d waits, want 3 and 2", s.calls, len(c.waits))
	}
}

// TestPacedAttempts: refusals with a Retry-After hint (the store pacing
// its clients) count toward MaxPaced, not MaxAttempts.
func TestPacedAttempts(t *testing.T) {
	c := newClock()
	opts := c.options()
	opts.MaxAttempts = 2
	opts.MaxPaced = 6
	var errs []error
	for range 5 {
		errs = append(errs, adapters.NewError("write", "x", adapters.ErrTransient, retryAfterErr{time.Second}))
	}
	s := &script{errs: errs}
	if _, err := retry.New(s, opts).Write(context.Background(), "x", nil, adapters.NoRev); err != nil {
		t.Fatalf("five paced refusals with MaxPaced 6: %v", err)
	}
	s = &script{errs: append(errs, errs...)}
	_, err := retry.New(s, opts).Write(context.Background(), "x", nil, adapters.NoRev)
	var gu *retry.GaveUpError
	if !errors.As(err, &gu) || gu.Attempts != 6 {
		t.Fatalf("ten paced refusals with MaxPaced 6: %v, want to give up after 6 attempts", err)
	}
}

func TestMaxElapsed(t *testing.T) {
	c := newClock()
	opts := c.options()
	opts.InitialBackoff = 400 * time.Millisecond
	opts.MaxElapsed = time.Second
	s := &script{errs: transient(10)}
	_, _, err := retry.New(s, opts).Read(context.Background(), "x")
	var gu *retry.GaveUpError
	if !errors.Is(err, adapters.ErrTransient) || !errors.As(err, &gu) {
		t.Fatalf("Read = %v, want a transient GaveUpError", err)
	}
	// Attempts at 0, 0.4 s and 0.8 s; a fourth would start at 1.2 s.
	if s.calls != 3 || gu.Attempts != 3 {
		t.Fatalf("%d attempts (reported %d), want 3", s.calls, gu.Attempts)
	}
}

func TestNoRetry(t *testing.T) {
	for _, err := range []error{
		adapters.NewError("write", "x", adapters.ErrConflict, nil),
		adapters.NewError("read", "x", adapters.ErrNotFound, nil),
		adapters.NewError("read", "x", adapters.ErrUnauthorized, errors.New("401")),
		adapters.NewError("read", "x", nil, errors.New("disk on fire")),
	} {
		c := newClock()
		s := &script{errs: []error{err}}
		a := retry.New(s, c.options())
		_, got := a.Write(context.Background(), "x", nil, adapters.NoRev)
		if got != err {
			t.Errorf("Write = %v, want %v unchanged", got, err)
		}
		if s.calls != 1 || len(c.waits) != 0 {
			t.Errorf("%v: %d attempts, want 1", err, s.calls)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	c := newClock()
	opts := c.options()
	opts.RequestTimeout = 5 * time.Millisecond
	var events []retry.RetryEvent
	opts.OnRetry = func(e retry.RetryEvent) { events = append(events, e) }
	s := &script{block: func(call int) bool { return call == 1 }}
	data, _, err := retry.New(s, opts).Read(context.Background(), "x")
	if err != nil || string(data) != "data" {
		t.Fatalf("Read = %q, %v", data, err)
	}
	if len(events) != 1 || !errors.Is(events[0].Err, adapters.ErrTransient) ||
		errors.Is(events[0].Err, context.DeadlineExceeded) || !strings.Contains(events[0].Err.Error(), "timed out") {
		t.Fatalf("retry events %+v, want one transient timeout", events)
	}
}

func TestCallerCancels(t *testing.T) {
	// The caller's own deadline is not retried.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newClock()
	s := &script{block: func(int) bool { return true }}
	if _, _, err := retry.New(s, c.options()).Read(ctx, "x"); !errors.Is(err, context.Canceled) || s.calls != 1 {
		t.Fatalf("Read = %v after %d attempts, want context.Canceled after 1", err, s.calls)
	}

	// Cancelling while waiting to retry stops at once.
	ctx, cancel = context.WithCancel(context.Background())
	opts := c.options()
	opts.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}
	s = &script{errs: transient(5)}
	_, _, err := retry.New(s, opts).Read(ctx, "x")
	if !errors.Is(err, context.Canceled) || adapters.IsRetryable(err) || s.calls != 1 {
		t.Fatalf("Read = %v after %d attempts, want context.Canceled after 1", err, s.calls)
	}
}

func TestRetryAfterHelper(t *testing.T) {
	err := adapters.NewError("read", "x", adapters.ErrTransient, retryAfterErr{2 * time.Second})
	if d, ok := adapters.RetryAfter(err); !ok || d != 2*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := adapters.RetryAfter(errors.New("plain")); ok {
		t.Fatal("RetryAfter found a hint in a plain error")
	}
}

// lostResponse applies the first write to the inner store, then reports a
// transient failure, as when the response of a write that landed is lost.
type lostResponse struct {
	adapters.Adapter
	lost  bool
	after func() // run after the lost write, before the retry
}

func (l *lostResponse) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	r, err := l.Adapter.Write(ctx, id, data, rev)
	if err == nil && !l.lost {
		l.lost = true
		if l.after != nil {
			l.after()
		}
		return adapters.NoRev, adapters.NewError("write", id, adapters.ErrTransient, errors.New("connection reset"))
	}
	return r, err
}

// TestLostResponseIsNotAConflict: a write that landed but whose response
// was lost is retried, and the retry conflicts with the write itself. That
// must be reported as the success it was (with the blob's revision), not as
// a conflict: before, init said "store already exists" about its own config
// and passwd said "nothing was written" after writing.
func TestLostResponseIsNotAConflict(t *testing.T) {
	ctx := context.Background()
	for _, create := range []bool{true, false} {
		m := memory.New()
		var rev adapters.Rev
		if !create {
			var err error
			if rev, err = m.Write(ctx, "config", []byte("old"), adapters.NoRev); err != nil {
				t.Fatal(err)
			}
		}
		a := retry.New(&lostResponse{Adapter: m}, newClock().options())
		got, err := a.Write(ctx, "config", []byte("new"), rev)
		if err != nil {
			t.Fatalf("create=%v: %v, want success", create, err)
		}
		data, cur, _ := m.Read(ctx, "config")
		if string(data) != "new" || got != cur {
			t.Fatalf("create=%v: rev %q, store %q at %q", create, got, data, cur)
		}
	}
	// If someone else wrote after the lost write, the conflict is real.
	m := memory.New()
	lr := &lostResponse{Adapter: m}
	lr.after = func() {
		_, cur, _ := m.Read(ctx, "config")
		m.Write(ctx, "config", []byte("theirs"), cur)
	}
	_, err := retry.New(lr, newClock().options()).Write(ctx, "config", []byte("mine"), adapters.NoRev)
	if !errors.Is(err, adapters.ErrConflict) {
		t.Fatalf("overwritten after the lost write: %v, want a conflict", err)
	}
	// A conflict on the first attempt costs no extra read.
	s := &script{errs: []error{adapters.NewError("write", "x", adapters.ErrConflict, nil)}}
	if _, err := retry.New(s, newClock().options()).Write(ctx, "x", []byte("data"), "r0"); !errors.Is(err, adapters.ErrConflict) || s.calls != 1 {
		t.Fatalf("first-attempt conflict: %v after %d calls", err, s.calls)
	}
}
