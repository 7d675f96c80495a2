package vault

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
)

// Engine micro-benchmarks for benchstat (make bench): a write round of a
// batch as an import makes it, and a batch of reads from the task cache.

// benchStore returns the blobs of a 16-shard store of n documents
// /gGG/siteN/login.
func benchStore(b *testing.B, n int) map[string][]byte {
	m := memory.New()
	s := newStore(b, m, 16)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/g%02d/site%06d/login", i%100, i)
	}
	for i, err := range s.NewTask(ctx).UpdateAll(ctx, paths, func(i int) UpdateFunc { return constantValue(i) }) {
		if err != nil {
			b.Fatalf("%s: %v", paths[i], err)
		}
	}
	return m.Blobs()
}

// openCopy opens a fresh memory store holding blobs.
func openCopy(b *testing.B, blobs map[string][]byte) *Store {
	m := memory.New()
	for id, data := range blobs {
		m.Set(id, data)
	}
	s, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// pathsOf returns the Window document paths /gGG/<kind>NNNNNN/login.
func pathsOf(kind string) []string {
	paths := make([]string, Window)
	for i := range paths {
		paths[i] = fmt.Sprintf("/g%02d/%s%06d/login", i%100, kind, i)
	}
	return paths
}

func constantValue(i int) UpdateFunc {
	v := json.RawMessage(fmt.Sprintf(`{"user":"user%d@example.com","pass":"p%08d-Xq7vLm2kR9tz"}`, i, i))
	return func(json.RawMessage) (json.RawMessage, error) { return v, nil }
}

// BenchmarkWriteRound4096 is one wave of an import: 4,096 new documents
// in one task on a 16-shard store of 10,000, at 0 ms latency: planning,
// applying each group to its shard (format.Shard.Apply), encoding and the
// writes' bookkeeping.
func BenchmarkWriteRound4096(b *testing.B) {
	blobs := benchStore(b, 10000)
	paths := pathsOf("new")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := openCopy(b, blobs)
		b.StartTimer()
		for i, err := range s.NewTask(ctx).UpdateAll(ctx, paths, func(i int) UpdateFunc { return constantValue(i) }) {
			if err != nil {
				b.Fatalf("%s: %v", paths[i], err)
			}
		}
	}
}

// BenchmarkGetAllCached4096 reads 4,096 documents whose shards the task
// has loaded: the task mutex, the cache and decrypting one item each.
func BenchmarkGetAllCached4096(b *testing.B) {
	s := openCopy(b, benchStore(b, 10000))
	paths := pathsOf("site")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		task := s.NewTask(ctx)
		if _, err := task.Find(ctx, "/g00/"); err != nil { // loads every shard
			b.Fatal(err)
		}
		b.StartTimer()
		_, errs := task.GetAll(ctx, paths)
		for i, err := range errs {
			if err != nil {
				b.Fatalf("%s: %v", paths[i], err)
			}
		}
	}
}
