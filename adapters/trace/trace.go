// Package trace reports every request made to a blob store, for measuring
// how many requests and sequential round trips an operation costs.
//
// The wrapper calls a callback with one Event per request once it has
// completed. Events carry sizes, timings and outcomes, never blob contents.
// Recorder collects events and summarises them.
//
// # Rounds
//
// An operation's latency on a remote store is governed by its sequential
// requests, not by their total. Each event therefore carries a Round: the
// position of the request on the critical path, computed as 1 + the highest
// Round among the requests that had already completed when this one started
// (1 if none had). Requests issued in parallel share a round; a request that
// had to wait for another's result gets a later one. The highest Round seen
// is the number of round trips the work took.
package trace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
)

var _ adapters.Adapter = (*Adapter)(nil)

// Outcomes of a request.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not found"
	OutcomeConflict = "conflict"
	OutcomeError    = "error"
)

// Event describes one completed request.
type Event struct {
	Op       string // "read" or "write"
	ID       string // blob id
	Bytes    int    // bytes read, or bytes the write sent
	Start    time.Time
	Duration time.Duration
	Outcome  string // one of the Outcome constants
	Err      error  // nil when Outcome is OutcomeOK
	Round    int    // see the package documentation
}

// Adapter wraps a blob store and reports each request to a callback.
type Adapter struct {
	inner adapters.Adapter
	fn    func(Event)

	mu sync.Mutex
	// done is the highest Round among completed requests of the current
	// epoch; ResetRounds starts a new epoch.
	done  int
	epoch uint64
}

// New returns inner wrapped so that fn is called once for every request,
// after it has completed, from the goroutine that made it. fn must be safe
// for concurrent use; a nil fn makes the wrapper a pass-through that still
// computes rounds.
func New(inner adapters.Adapter, fn func(Event)) *Adapter {
	return &Adapter{inner: inner, fn: fn}
}

// ResetRounds makes the next request start again at round 1, for counting
// the rounds of each operation separately. Requests in flight at the time
// keep their round but no longer affect later ones.
func (a *Adapter) ResetRounds() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done = 0
	a.epoch++
}

// Read implements adapters.Adapter.
func (a *Adapter) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	start, round, epoch := a.begin()
	data, rev, err := a.inner.Read(ctx, id)
	a.end(Event{Op: "read", ID: id, Bytes: len(data), Start: start, Err: err, Round: round}, epoch)
	return data, rev, err
}

// Write implements adapters.Adapter.
func (a *Adapter) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	start, round, epoch := a.begin()
	newRev, err := a.inner.Write(ctx, id, data, rev)
	a.end(Event{Op: "write", ID: id, Bytes: len(data), Start: start, Err: err, Round: round}, epoch)
	return newRev, err
}

func (a *Adapter) begin() (time.Time, int, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Now(), a.done + 1, a.epoch
}

func (a *Adapter) end(e Event, epoch uint64) {
	e.Duration = time.Since(e.Start)
	e.Outcome = outcome(e.Err)
	a.mu.Lock()
	if epoch == a.epoch && e.Round > a.done {
		a.done = e.Round
	}
	a.mu.Unlock()
	if a.fn != nil {
		a.fn(e)
	}
}

func outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, adapters.ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, adapters.ErrConflict):
		return OutcomeConflict
	default:
		return OutcomeError
	}
}

// FormatEvent returns one human-readable line describing e, such as
//
//	read  shard-0000-7fff  1.2 KiB  51ms  ok  round 1
func FormatEvent(e Event) string {
	s := fmt.Sprintf("%-5s %s  %s  %s  %s  round %d",
		e.Op, e.ID, formatBytes(int64(e.Bytes)), formatDuration(e.Duration), e.Outcome, e.Round)
	if e.Outcome == OutcomeError && e.Err != nil {
		s += "  " + e.Err.Error()
	}
	return s
}

// Recorder collects events. Its Record method is meant to be passed to New.
// It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Record adds e to the recorder.
func (r *Recorder) Record(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns a copy of the events recorded so far, in completion order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Reset discards all recorded events.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// Summary returns totals over the recorded events.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{ReadsPerBlob: make(map[string]int)}
	for _, e := range r.events {
		s.Requests++
		switch e.Op {
		case "read":
			s.Reads++
			s.BytesRead += int64(e.Bytes)
			s.ReadsPerBlob[e.ID]++
		case "write":
			s.Writes++
			s.BytesWritten += int64(e.Bytes)
		}
		switch e.Outcome {
		case OutcomeConflict:
			s.Conflicts++
		case OutcomeError:
			s.Errors++
		}
		s.Rounds = max(s.Rounds, e.Round)
	}
	return s
}

// Summary is a digest of recorded requests.
type Summary struct {
	Requests     int
	Reads        int
	Writes       int
	Conflicts    int // writes that failed with ErrConflict
	Errors       int // requests with OutcomeError; "not found" is not an error
	BytesRead    int64
	BytesWritten int64
	Rounds       int            // the highest Round, that is the round trips taken
	ReadsPerBlob map[string]int // number of reads of each blob id
}

// String returns the summary on one line.
func (s Summary) String() string {
	return fmt.Sprintf("%d requests (%d reads, %d writes) in %d rounds, %d conflicts, %d errors, %s read, %s written",
		s.Requests, s.Reads, s.Writes, s.Rounds, s.Conflicts, s.Errors,
		formatBytes(s.BytesRead), formatBytes(s.BytesWritten))
}

func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}

func formatDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

// Unwrap returns the adapter below this layer (see adapters.List).
func (a *Adapter) Unwrap() adapters.Adapter { return a.inner }
