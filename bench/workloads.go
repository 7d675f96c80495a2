package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault"
)

// Result is one row of the report.
type Result struct {
	ID        string  `json:"id"`
	Workload  string  `json:"workload"`
	LatencyMS float64 `json:"latency_ms"`
	Measure
	// N and D of the engine's write plan (task.Stats()), when it wrote.
	N int `json:"plan_n,omitempty"`
	D int `json:"plan_d,omitempty"`
	// Runs is how many times the workload ran; the figures are those of
	// the median run by wall time.
	Runs  int      `json:"runs"`
	Naive *Measure `json:"naive,omitempty"`
	// Speedup is the naive baseline's wall time over the engine's.
	Speedup float64 `json:"speedup,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// engineRun is one execution of a workload through the engine.
type engineRun func(ctx context.Context, a adapters.Adapter) (vault.Stats, error)

// naiveOps builds the naive baseline's operations once the store is open.
type naiveOps func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error)

// measureEngine runs fn runs times on fresh copies of snap and returns the
// median run.
func measureEngine(ctx context.Context, snap snapshot, delay time.Duration, runs int, fn engineRun) (Result, error) {
	type one struct {
		m  Measure
		st vault.Stats
	}
	var all []one
	for range runs {
		var st vault.Stats
		m, err := run(ctx, snap, delay, func(ctx context.Context, a adapters.Adapter) error {
			var err error
			st, err = fn(ctx, a)
			return err
		})
		if err != nil {
			return Result{}, err
		}
		all = append(all, one{m, st})
	}
	walls := make([]time.Duration, len(all))
	for i, o := range all {
		walls[i] = time.Duration(o.m.WallMS * float64(time.Millisecond))
	}
	med := median(walls)
	for _, o := range all {
		if time.Duration(o.m.WallMS*float64(time.Millisecond)) == med {
			return Result{LatencyMS: ms(delay), Measure: o.m, N: o.st.N, D: o.st.D, Runs: runs}, nil
		}
	}
	panic("unreachable")
}

// --- the workloads ---------------------------------------------------------

// getOne is the CLI path of "vaultdb get": open, then one Get in a task.
func getOne(path string) engineRun {
	return func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
		s, err := open(ctx, a)
		if err != nil {
			return vault.Stats{}, err
		}
		t := s.NewTask(ctx)
		if _, err := t.Get(ctx, path); err != nil {
			return vault.Stats{}, err
		}
		return t.Stats(), nil
	}
}

// setOne is the CLI path of "vaultdb set" (no terminal): open, then one
// Update in a task.
func setOne(path string) engineRun {
	return func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
		s, err := open(ctx, a)
		if err != nil {
			return vault.Stats{}, err
		}
		t := s.NewTask(ctx)
		if err := t.Set(ctx, path, docValue(-1)); err != nil {
			return vault.Stats{}, err
		}
		return t.Stats(), nil
	}
}

// importDocs sets documents [0, n) in one task, from concurrent goroutines.
func importDocs(n int) engineRun {
	return func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
		s, err := open(ctx, a)
		if err != nil {
			return vault.Stats{}, err
		}
		t := s.NewTask(ctx)
		err = concurrently(n, func(i int) error { return t.Set(ctx, docPath(i), docValue(i)) })
		return t.Stats(), err
	}
}

func naiveImport(n int) naiveOps {
	return func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error) {
		ops := make([]func(ctx context.Context, t *vault.Task) error, n)
		for i := range ops {
			ops[i] = func(ctx context.Context, t *vault.Task) error { return t.Set(ctx, docPath(i), docValue(i)) }
		}
		return ops, nil
	}
}

// export finds every document and gets them all, in one task.
func export(want int) engineRun {
	return func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
		s, err := open(ctx, a)
		if err != nil {
			return vault.Stats{}, err
		}
		t := s.NewTask(ctx)
		docs, err := t.Find(ctx, "/")
		if err != nil {
			return vault.Stats{}, err
		}
		if len(docs) != want {
			return vault.Stats{}, fmt.Errorf("export found %d documents, want %d", len(docs), want)
		}
		err = concurrently(len(docs), func(i int) error {
			_, err := t.Get(ctx, docs[i])
			return err
		})
		return t.Stats(), err
	}
}

// naiveExport: one task for the find, then one task per get.
func naiveExport(want int) naiveOps {
	return func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error) {
		docs, err := s.NewTask(ctx).Find(ctx, "/")
		if err != nil {
			return nil, err
		}
		if len(docs) != want {
			return nil, fmt.Errorf("naive export found %d documents, want %d", len(docs), want)
		}
		ops := make([]func(ctx context.Context, t *vault.Task) error, len(docs))
		for i, d := range docs {
			ops[i] = func(ctx context.Context, t *vault.Task) error {
				_, err := t.Get(ctx, d)
				return err
			}
		}
		return ops, nil
	}
}

// rmDir is the CLI path of "vaultdb rm -rf /archive": open; get the
// document /archive and find /archive/ together; then prune.
func rmDir(dir string, want int) engineRun {
	return func(ctx context.Context, a adapters.Adapter) (vault.Stats, error) {
		s, err := open(ctx, a)
		if err != nil {
			return vault.Stats{}, err
		}
		t := s.NewTask(ctx)
		var (
			wg      sync.WaitGroup
			docs    []string
			findErr error
		)
		wg.Go(func() { _, _ = t.Get(ctx, dir[:len(dir)-1]) }) // absent: ErrNotFound
		wg.Go(func() { docs, findErr = t.Find(ctx, dir) })
		wg.Wait()
		if findErr != nil {
			return vault.Stats{}, findErr
		}
		if len(docs) != want {
			return vault.Stats{}, fmt.Errorf("rm -r found %d documents, want %d", len(docs), want)
		}
		if err := t.Prune(ctx, dir); err != nil {
			return vault.Stats{}, err
		}
		return t.Stats(), nil
	}
}

// naiveRmDir: one task for the find, then one Remove per document, each in
// its own task (each removes the directories it empties).
func naiveRmDir(dir string, want int) naiveOps {
	return func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error) {
		docs, err := s.NewTask(ctx).Find(ctx, dir)
		if err != nil {
			return nil, err
		}
		if len(docs) != want {
			return nil, fmt.Errorf("naive rm -r found %d documents, want %d", len(docs), want)
		}
		ops := make([]func(ctx context.Context, t *vault.Task) error, len(docs))
		for i, d := range docs {
			ops[i] = func(ctx context.Context, t *vault.Task) error { return t.Remove(ctx, d) }
		}
		return ops, nil
	}
}

// singleOp is the naive form of a one-operation workload: the same
// operation, on its own task.
func singleOp(op func(ctx context.Context, t *vault.Task) error) naiveOps {
	return func(ctx context.Context, s *vault.Store) ([]func(ctx context.Context, t *vault.Task) error, error) {
		return []func(ctx context.Context, t *vault.Task) error{op}, nil
	}
}

// archiveDoc is document i of the directory rm -r removes.
func archiveDoc(i int) string { return fmt.Sprintf("/archive/site%03d/login", i) }

// addArchive adds the documents of /archive/ in one task.
func addArchive(n int) func(ctx context.Context, t *vault.Task) error {
	return func(ctx context.Context, t *vault.Task) error {
		return concurrently(n, func(i int) error { return t.Set(ctx, archiveDoc(i), docValue(i)) })
	}
}

// getCPU is the median wall time of NewTask + Get at 0 ms latency on an
// opened store, excluding the open and its key derivation: the CPU cost
// of a get (parse the shard, decrypt its index and the one item).
func getCPU(ctx context.Context, snap snapshot, path string, runs int) (time.Duration, int64, error) {
	s, err := open(ctx, snap.fresh())
	if err != nil {
		return 0, 0, err
	}
	walls := make([]time.Duration, runs)
	for i := range walls {
		start := time.Now()
		if _, err := s.NewTask(ctx).Get(ctx, path); err != nil {
			return 0, 0, err
		}
		walls[i] = time.Since(start)
	}
	return median(walls), int64(len(snap[s.ShardOf(path)])), nil
}
