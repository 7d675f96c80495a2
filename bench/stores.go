package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault"
)

// docPath is the path of document i: a password entry two directories
// below the root, /gGG/siteNNNNNN/login, with the sites spread over 100
// groups.
func docPath(i int) string {
	return fmt.Sprintf("/g%02d/site%06d/login", i%100, i)
}

// docValue is document i's value: a small JSON object, like a login.
func docValue(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"user":"user%d@example.com","pass":"p%08d-Xq7vLm2kR9tz","url":"https://site%d.example.com/login"}`, i, i*7919, i))
}

// Populate records how a store was built: through the engine, at 0 ms
// latency, in tasks of concurrent Sets.
type Populate struct {
	Docs      int     `json:"docs"`
	Shards    int     `json:"shards"`
	Tasks     int     `json:"tasks"`
	BatchSize int     `json:"batch_size"` // concurrent Sets per task
	Reads     int     `json:"reads"`      // task.Stats() summed over the tasks
	Writes    int     `json:"writes"`
	MaxD      int     `json:"max_d"` // the deepest plan of one task
	WallMS    float64 `json:"wall_ms"`
	BlobBytes int64   `json:"blob_bytes"` // total size of the shards
}

// populateBatch is how many Sets run concurrently in one task while
// building a store: large enough that a task writes each shard only a few
// times, small enough to keep goroutine stacks and plans modest.
const populateBatch = 5000

// build creates a store with the given shard count and iterations on a
// fresh memory store and adds documents [0, docs) through the engine:
// each task issues populateBatch concurrent Sets, which the engine plans
// together into a few writes per shard.
func build(ctx context.Context, shards, iterations, docs int, extra func(ctx context.Context, t *vault.Task) error) (snapshot, Populate, error) {
	mem := memory.New()
	start := time.Now()
	s, err := vault.Create(ctx, mem, passphrase, vault.CreateOptions{Shards: shards, Iterations: iterations})
	if err != nil {
		return nil, Populate{}, err
	}
	p := Populate{Docs: docs, Shards: shards, BatchSize: populateBatch}
	for lo := 0; lo < docs; lo += populateBatch {
		hi := min(lo+populateBatch, docs)
		t := s.NewTask(ctx)
		if err := concurrently(hi-lo, func(k int) error {
			i := lo + k
			return t.Set(ctx, docPath(i), docValue(i))
		}); err != nil {
			return nil, Populate{}, fmt.Errorf("populating %d docs: %w", docs, err)
		}
		st := t.Stats()
		p.Tasks++
		p.Reads += st.Reads
		p.Writes += st.Writes
		p.MaxD = max(p.MaxD, st.D)
	}
	if extra != nil {
		if err := extra(ctx, s.NewTask(ctx)); err != nil {
			return nil, Populate{}, err
		}
	}
	p.WallMS = ms(time.Since(start))
	snap := snapshot(mem.Blobs())
	for id, b := range snap {
		if id != vault.ConfigBlob {
			p.BlobBytes += int64(len(b))
		}
	}
	return snap, p, nil
}
