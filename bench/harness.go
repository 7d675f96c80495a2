package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/latency"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
	"github.com/vaultdb/vaultdb/vault"
)

// passphrase of every store the harness builds.
var passphrase = []byte("correct horse battery staple")

// benchIterations is the PBKDF2 iteration count of every store except the
// key-derivation workload's, so that key derivation does not drown the
// figures being measured.
const benchIterations = 1000

// snapshot is a store's blobs, frozen after it was built, so that every
// measurement starts from the same bytes on a fresh memory store.
type snapshot map[string][]byte

func (s snapshot) fresh() *memory.Store {
	m := memory.New()
	for id, data := range s {
		m.Set(id, data)
	}
	return m
}

// Measure is what one run of a workload cost.
type Measure struct {
	Requests     int     `json:"requests"`
	Reads        int     `json:"reads"`
	Writes       int     `json:"writes"`
	Conflicts    int     `json:"conflicts"`
	Rounds       int     `json:"rounds"`      // sequential rounds (critical path); 0 when not measured (0 ms latency)
	ReadRounds   int     `json:"read_rounds"` // distinct rounds holding a read
	WriteRounds  int     `json:"write_rounds"`
	BytesRead    int64   `json:"bytes_read"`
	BytesWritten int64   `json:"bytes_written"`
	WallMS       float64 `json:"wall_ms"`
	// Sampled, for a naive baseline too long to run in full at the
	// injected latency: the number of operations that ran at that latency.
	// The others ran at SampleFastMS, which leaves requests, bytes and
	// rounds exact; WallMS is then the sampled operations' mean wall time
	// times the number of operations (an extrapolation, marked "~").
	Sampled      int     `json:"sampled_ops,omitempty"`
	Ops          int     `json:"ops,omitempty"`
	SampleFastMS float64 `json:"sample_fast_latency_ms,omitempty"`
}

// Bytes is everything moved, both ways.
func (m Measure) Bytes() int64 { return m.BytesRead + m.BytesWritten }

// rig is one measurement's stack: a fresh memory store with the snapshot,
// a switchable latency layer and a trace layer on top.
type rig struct {
	mem  *memory.Store
	sw   *switchable
	ta   *trace.Adapter
	rec  *trace.Recorder
	slow time.Duration
}

func newRig(snap snapshot, delay time.Duration) *rig {
	mem := snap.fresh()
	rec := &trace.Recorder{}
	sw := &switchable{
		slow: latency.New(mem, latency.Options{Delay: delay, Jitter: jitterFor(delay), Seed: 1}),
		fast: latency.New(mem, latency.Options{Delay: sampleFast}),
	}
	sw.useSlow.Store(true)
	ta := trace.New(sw, rec.Record)
	return &rig{mem: mem, sw: sw, ta: ta, rec: rec, slow: delay}
}

// jitterFor is the jitter of a layer with the given delay: none at 0 ms,
// which measures CPU cost.
func jitterFor(delay time.Duration) time.Duration {
	if delay == 0 {
		return 0
	}
	return jitter
}

// adapter is what workloads talk to.
func (r *rig) adapter() adapters.Adapter { return r.ta }

// sampleFast is the latency of naive operations outside the timed sample:
// small, so that the whole baseline runs quickly, but not zero, so that
// requests issued together still overlap and rounds stay exact.
const sampleFast = 2 * time.Millisecond

// switchable sends requests to one of two latency layers over one store.
type switchable struct {
	slow, fast adapters.Adapter
	useSlow    atomic.Bool
}

func (s *switchable) pick() adapters.Adapter {
	if s.useSlow.Load() {
		return s.slow
	}
	return s.fast
}

func (s *switchable) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	return s.pick().Read(ctx, id)
}

func (s *switchable) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	return s.pick().Write(ctx, id, data, rev)
}

// measure turns the recorder's events and a wall time into a Measure.
func (r *rig) measure(wall time.Duration) Measure {
	s := r.rec.Summary()
	m := Measure{Requests: s.Requests, Reads: s.Reads, Writes: s.Writes, Conflicts: s.Conflicts,
		BytesRead: s.BytesRead, BytesWritten: s.BytesWritten, WallMS: ms(wall)}
	if r.slow > 0 {
		m.Rounds = s.Rounds
		reads, writes := map[int]bool{}, map[int]bool{}
		for _, e := range r.rec.Events() {
			if e.Op == "read" {
				reads[e.Round] = true
			} else {
				writes[e.Round] = true
			}
		}
		m.ReadRounds, m.WriteRounds = len(reads), len(writes)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// open opens the store on a with the bench's passphrase.
func open(ctx context.Context, a adapters.Adapter) (*vault.Store, error) {
	return vault.Open(ctx, a, passphrase, vault.Options{})
}

// run measures fn once on a fresh copy of snap at the given latency.
func run(ctx context.Context, snap snapshot, delay time.Duration, fn func(ctx context.Context, a adapters.Adapter) error) (Measure, error) {
	r := newRig(snap, delay)
	start := time.Now()
	if err := fn(ctx, r.adapter()); err != nil {
		return Measure{}, err
	}
	return r.measure(time.Since(start)), nil
}

// runNaive measures a naive baseline: the store is opened once (one config
// read), then ops[i] runs on its own new task, one after another. With
// sample > 0 and more ops than that, only an evenly spread sample of sample
// operations runs at the injected latency (see Measure.Sampled).
func runNaive(ctx context.Context, snap snapshot, delay time.Duration, sample int,
	prologue func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error)) (Measure, error) {
	r := newRig(snap, delay)
	start := time.Now()
	s, err := open(ctx, r.adapter())
	if err != nil {
		return Measure{}, err
	}
	ops, err := prologue(ctx, s)
	if err != nil {
		return Measure{}, err
	}
	prologueWall := time.Since(start)
	n := len(ops)
	step := 1
	if sample > 0 && n > sample && delay > 0 {
		step = (n + sample - 1) / sample
	}
	var sampled time.Duration
	k := 0
	for i, op := range ops {
		slow := i%step == 0
		r.sw.useSlow.Store(slow)
		t0 := time.Now()
		if err := op(ctx, s.NewTask(ctx)); err != nil {
			return Measure{}, fmt.Errorf("naive op %d: %w", i, err)
		}
		if slow {
			sampled += time.Since(t0)
			k++
		}
	}
	wall := time.Since(start)
	m := r.measure(wall)
	if step > 1 {
		m.WallMS = ms(prologueWall + sampled*time.Duration(n)/time.Duration(k))
		m.Sampled, m.Ops, m.SampleFastMS = k, n, ms(sampleFast)
	}
	return m, nil
}

// concurrently runs fn(i) for i in [0, n) from n goroutines and returns the
// first error.
func concurrently(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		wg.Go(func() {
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
