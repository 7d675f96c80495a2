package stack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/localdir"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/faulty"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return stack.Build(memory.New(), stack.Options{
			Latency: 10 * time.Microsecond,
			Jitter:  10 * time.Microsecond,
			Faults:  &faulty.Options{},
			Retry:   &retry.Options{},
			Trace:   func(trace.Event) {},
		})
	})
}

func TestContractBare(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return stack.Build(memory.New(), stack.Options{})
	})
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// TestOrder checks that injected faults are retried and that the trace sees
// one event per request the caller made, not per attempt.
func TestOrder(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	store.Set("x", []byte("x"))
	var rec trace.Recorder
	var retries int
	a := stack.Build(store, stack.Options{
		Latency: time.Microsecond,
		Faults:  &faulty.Options{Seed: 3, ReadError: 0.5},
		Retry: &retry.Options{
			MaxAttempts: 100,
			Sleep:       noSleep,
			OnRetry:     func(retry.RetryEvent) { retries++ },
		},
		Trace: rec.Record,
	})
	for range 20 {
		if _, _, err := a.Read(ctx, "x"); err != nil {
			t.Fatalf("Read = %v; injected transient faults must be retried", err)
		}
	}
	s := rec.Summary()
	if s.Requests != 20 || s.Errors != 0 {
		t.Fatalf("trace saw %v, want 20 successful requests", s)
	}
	if retries == 0 {
		t.Fatal("no faults were injected")
	}
}

// TestWriteFailedAfter shows how a write that happened but reported a
// transient error surfaces through retries: as the success it was.
func TestWriteFailedAfter(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	a := stack.Build(store, stack.Options{
		Faults: &faulty.Options{WriteErrorAfter: 1},
		Retry:  &retry.Options{Sleep: noSleep},
	})
	// The write lands but reports an error; the retry conflicts with it,
	// and the retry layer finds the blob holding the bytes sent: success.
	rev, err := a.Write(ctx, "x", []byte("v1"), adapters.NoRev)
	if err != nil {
		t.Fatalf("Write = %v, want the write that landed to succeed", err)
	}
	data, cur, _ := store.Read(ctx, "x")
	if string(data) != "v1" || rev != cur {
		t.Fatalf("store holds %q at %q, write returned %q", data, cur, rev)
	}
}

// TestListThroughLayers: adapters.List finds the store's listing below every
// layer, and says when the store cannot list.
func TestListThroughLayers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := localdir.New(dir, localdir.Options{})
	if _, err := base.Write(ctx, "config", []byte("{}"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
	all := stack.Options{Latency: time.Microsecond, Faults: &faulty.Options{}, MaxWrites: 2, Retry: &retry.Options{}, Trace: func(trace.Event) {}}
	ids, ok, err := adapters.List(ctx, stack.Build(base, all))
	if err != nil || !ok || !slices.Contains(ids, "config") {
		t.Fatalf("localdir through every layer: %q, %v, %v", ids, ok, err)
	}
	if _, ok, err := adapters.List(ctx, stack.Build(memory.New(), all)); ok || err != nil {
		t.Fatalf("memory store listed: %v, %v", ok, err)
	}
}
