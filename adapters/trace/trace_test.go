package trace_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

// barrier returns a latency Sleep that holds the first n requests until all
// n are waiting, so that they are provably in flight together, and lets
// later requests through at once.
func barrier(n int) func(context.Context, time.Duration) error {
	var (
		mu   sync.Mutex
		seen int
		all  = make(chan struct{})
	)
	return func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		seen++
		if seen == n {
			close(all)
		}
		mu.Unlock()
		<-all
		return nil
	}
}

func TestRounds(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	store.Set("a", []byte("A"))
	store.Set("b", []byte("B"))

	var rec trace.Recorder
	slow := latency.New(store, latency.Options{Delay: time.Millisecond, Sleep: barrier(2)})
	a := trace.New(slow, rec.Record)

	// Two reads in parallel: both round 1.
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b"} {
		wg.Go(func() {
			if _, _, err := a.Read(ctx, id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// The barrier is spent; further requests pass straight through.
	if _, _, err := a.Read(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, "c", []byte("C"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}

	ev := rec.Events()
	if len(ev) != 4 {
		t.Fatalf("got %d events, want 4", len(ev))
	}
	for i, want := range []int{1, 1, 2, 3} {
		if ev[i].Round != want {
			t.Errorf("event %d (%s %s) has round %d, want %d", i, ev[i].Op, ev[i].ID, ev[i].Round, want)
		}
	}

	s := rec.Summary()
	want := trace.Summary{
		Requests: 4, Reads: 3, Writes: 1, BytesRead: 3, BytesWritten: 1, Rounds: 3,
		ReadsPerBlob: map[string]int{"a": 2, "b": 1},
	}
	if fmt.Sprint(s) != fmt.Sprint(want) || s.ReadsPerBlob["a"] != 2 || s.ReadsPerBlob["b"] != 1 {
		t.Errorf("Summary() = %+v, want %+v", s, want)
	}

	a.ResetRounds()
	if _, _, err := a.Read(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := rec.Events()[4].Round; got != 1 {
		t.Errorf("round after ResetRounds = %d, want 1", got)
	}
	rec.Reset()
	if n := len(rec.Events()); n != 0 {
		t.Errorf("%d events after Reset", n)
	}
}

func TestOutcomes(t *testing.T) {
	ctx := context.Background()
	var rec trace.Recorder
	a := trace.New(memory.New(), rec.Record)

	a.Read(ctx, "missing")
	a.Write(ctx, "x", []byte("1"), adapters.NoRev)
	a.Write(ctx, "x", []byte("2"), adapters.NoRev)
	a.Read(ctx, "")

	var got []string
	for _, e := range rec.Events() {
		got = append(got, e.Outcome)
		if (e.Outcome == trace.OutcomeOK) != (e.Err == nil) {
			t.Errorf("event %+v: outcome and error disagree", e)
		}
	}
	want := []string{trace.OutcomeNotFound, trace.OutcomeOK, trace.OutcomeConflict, trace.OutcomeError}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("outcomes %q, want %q", got, want)
	}
	s := rec.Summary()
	if s.Conflicts != 1 || s.Errors != 1 {
		t.Errorf("Summary() = %+v, want 1 conflict and 1 error", s)
	}
}

func TestNoContentInEvents(t *testing.T) {
	ctx := context.Background()
	secret := []byte("hunter2-very-secret-content")
	var rec trace.Recorder
	a := trace.New(memory.New(), rec.Record)
	rev, err := a.Write(ctx, "x", secret, adapters.NoRev)
	if err != nil {
		t.Fatal(err)
	}
	a.Read(ctx, "x")
	a.Write(ctx, "x", secret, adapters.NoRev) // conflict
	a.Write(ctx, "x", secret, rev+"-stale")   // conflict
	for _, e := range rec.Events() {
		for _, s := range []string{fmt.Sprintf("%#v", e), fmt.Sprint(e.Err), trace.FormatEvent(e)} {
			if bytes.Contains([]byte(s), []byte("hunter2")) {
				t.Errorf("event leaks content: %s", s)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	e := trace.Event{Op: "read", ID: "shard-0000-7fff", Bytes: 1229, Duration: 51 * time.Millisecond, Outcome: "ok", Round: 1}
	if got, want := trace.FormatEvent(e), "read  shard-0000-7fff  1.2 KiB  51ms  ok  round 1"; got != want {
		t.Errorf("FormatEvent = %q, want %q", got, want)
	}
	e = trace.Event{Op: "write", ID: "config", Bytes: 10, Duration: 300 * time.Microsecond, Outcome: "error",
		Err: errors.New("boom"), Round: 2}
	if got, want := trace.FormatEvent(e), "write config  10 B  300µs  error  round 2  boom"; got != want {
		t.Errorf("FormatEvent = %q, want %q", got, want)
	}
	s := trace.Summary{Requests: 3, Reads: 2, Writes: 1, Rounds: 2, Conflicts: 1, BytesRead: 3 << 20, BytesWritten: 2048}
	if got, want := s.String(), "3 requests (2 reads, 1 writes) in 2 rounds, 1 conflicts, 0 errors, 3.0 MiB read, 2.0 KiB written"; got != want {
		t.Errorf("Summary.String = %q, want %q", got, want)
	}
}

func TestNilCallback(t *testing.T) {
	a := trace.New(memory.New(), nil)
	if _, err := a.Write(context.Background(), "x", nil, adapters.NoRev); err != nil {
		t.Fatal(err)
	}
}
