package rstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/vault"
)

// RacingReads is the result of ReadsRacingWrites.
type RacingReads struct {
	Reads  int // reads made
	Writes int // writes that completed meanwhile
	// FalseMissing counts reads of an existing entry answered "no such
	// entry"; Damaged, reads that reported a damaged shard; Failed, other
	// errors and wrong values.
	FalseMissing, Damaged, Failed int
	FirstErr                      error
}

// Bad is the number of reads that did not return the entry's value.
func (r RacingReads) Bad() int { return r.FalseMissing + r.Damaged + r.Failed }

func (r RacingReads) String() string {
	return fmt.Sprintf("%d reads racing %d writes: %d false \"no such entry\", %d \"damaged\", %d other errors",
		r.Reads, r.Writes, r.FalseMissing, r.Damaged, r.Failed)
}

// ReadsRacingWrites creates a one-shard store through newAdapter holding
// entries that readers get (each get in a fresh task, as separate commands
// would do it) while a writer keeps rewriting that shard with other
// entries, until reads gets were made. Each reader and the writer have an
// adapter of their own.
func ReadsRacingWrites(ctx context.Context, newAdapter func() (adapters.Adapter, error), reads int) (RacingReads, error) {
	const (
		readers = 8
		docs    = 8
	)
	pass := []byte("racing reads")
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	value := func(i int) json.RawMessage { return str(fmt.Sprintf("value %d", i)) }
	open := func(create bool) (*vault.Store, error) {
		a, err := newAdapter()
		if err != nil {
			return nil, err
		}
		if create {
			return vault.Create(ctx, a, pass, vault.CreateOptions{Shards: 1, Iterations: 1000})
		}
		return vault.Open(ctx, a, pass, vault.Options{Backoff: time.Millisecond})
	}
	s, err := open(true)
	if err != nil {
		return RacingReads{}, err
	}
	task := s.NewTask(ctx)
	for i := range docs {
		if err := task.Set(ctx, fmt.Sprintf("/stable/d%d", i), value(i)); err != nil {
			return RacingReads{}, err
		}
	}
	ws, err := open(false)
	if err != nil {
		return RacingReads{}, err
	}
	stores := make([]*vault.Store, readers)
	for r := range stores {
		if stores[r], err = open(false); err != nil {
			return RacingReads{}, err
		}
	}

	var (
		res                                     RacingReads
		mu                                      sync.Mutex
		made                                    atomic.Int64
		stop                                    = make(chan struct{})
		writer, rwg                             sync.WaitGroup
		writes, falseMissing, damaged, failures atomic.Int64
	)
	writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			err := ws.NewTask(ctx).Set(ctx, fmt.Sprintf("/churn/d%d", i%5), str(strings.Repeat("x", 10+i%300)))
			if err == nil {
				writes.Add(1)
			}
		}
	})
	for r, rs := range stores {
		rwg.Go(func() {
			for i := r; made.Add(1) <= int64(reads); i++ {
				p := fmt.Sprintf("/stable/d%d", i%docs)
				v, err := rs.NewTask(ctx).Get(ctx, p)
				switch {
				case errors.Is(err, vault.ErrNotFound):
					falseMissing.Add(1)
				case errors.Is(err, vault.ErrCorrupt):
					damaged.Add(1)
				case err != nil:
					failures.Add(1)
				case string(v) != string(value(i%docs)):
					err = fmt.Errorf("%s = %s, want %s", p, v, value(i%docs))
					failures.Add(1)
				}
				if err != nil {
					mu.Lock()
					if res.FirstErr == nil {
						res.FirstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	rwg.Wait()
	close(stop)
	writer.Wait()
	res.Reads, res.Writes = reads, int(writes.Load())
	res.FalseMissing, res.Damaged, res.Failed = int(falseMissing.Load()), int(damaged.Load()), int(failures.Load())
	return res, nil
}
