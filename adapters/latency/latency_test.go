package latency_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/adaptertest"
	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/memory"
)

func TestContract(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) adapters.Adapter {
		return latency.New(memory.New(), latency.Options{Delay: 10 * time.Microsecond, Jitter: 10 * time.Microsecond})
	})
}

// sleeps records the waits requested instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func run(t *testing.T, opts latency.Options) []time.Duration {
	t.Helper()
	var s sleeps
	opts.Sleep = s.sleep
	a := latency.New(memory.New(), opts)
	ctx := context.Background()
	for range 50 {
		a.Read(ctx, "x")
		a.Write(ctx, "x", nil, adapters.NoRev)
	}
	return s.d
}

func TestDelay(t *testing.T) {
	for _, d := range run(t, latency.Options{Delay: 30 * time.Millisecond}) {
		if d != 30*time.Millisecond {
			t.Fatalf("waited %v, want 30ms", d)
		}
	}
}

func TestJitter(t *testing.T) {
	opts := latency.Options{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 7}
	a, b := run(t, opts), run(t, opts)
	distinct := map[time.Duration]bool{}
	for i, d := range a {
		if d < 10*time.Millisecond || d > 15*time.Millisecond {
			t.Fatalf("waited %v, want 10ms..15ms", d)
		}
		if d != b[i] {
			t.Fatalf("same seed, different waits: %v and %v", d, b[i])
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct waits in %d requests", len(distinct), len(a))
	}
	opts.Seed = 8
	if c := run(t, opts); c[0] == a[0] && c[1] == a[1] && c[2] == a[2] {
		t.Errorf("different seeds gave the same waits")
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	store := memory.New()
	a := latency.New(store, latency.Options{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	if _, err := a.Write(ctx, "x", []byte("x"), adapters.NoRev); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write = %v, want context.Canceled", err)
	}
	if _, _, err := a.Read(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
	if n := len(store.Blobs()); n != 0 {
		t.Fatalf("a cancelled write reached the store")
	}
}
