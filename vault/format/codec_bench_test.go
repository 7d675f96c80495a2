package format

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Shard encode/decode at the sizes the bench harness (go run ./bench)
// meets: a 1,000-item shard (BenchmarkParseGet, BenchmarkEncodeOneChange in
// bench_test.go) and a 10,000-item one, for regressions in benchstat.

func benchShardN(b *testing.B, n int) []byte {
	values := map[string]string{}
	for i := range n {
		values[fmt.Sprintf("/g%02d/site%06d/login", i%100, i)] = fmt.Sprintf(`{"user":"user%d@example.com","pass":"p%08d-Xq7vLm2kR9tz"}`, i, i)
	}
	return mustEncode(b, testRand(1), values)
}

// BenchmarkParseShard10000 decodes a 10,000-item shard: split the lines,
// decrypt and check the index. No value is decrypted.
func BenchmarkParseShard10000(b *testing.B) {
	data := benchShardN(b, 10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseShard(testBlob, data, testKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeNew1000 is the import path: a shard that gains 1,000 new
// items, each encrypted under its own item key, plus a new index.
func BenchmarkEncodeNew1000(b *testing.B) {
	values := make([]json.RawMessage, 1000)
	paths := make([]string, 1000)
	for i := range values {
		paths[i] = fmt.Sprintf("/g%02d/site%06d/login", i%100, i)
		values[i] = json.RawMessage(fmt.Sprintf(`{"user":"user%d@example.com","pass":"p%08d-Xq7vLm2kR9tz"}`, i, i))
	}
	rnd := testRand(2)
	for b.Loop() {
		s := EmptyShard()
		for i, p := range paths {
			s.Set(p, values[i])
		}
		if _, err := s.Encode(rnd, testKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeOneChange10000 rewrites a 10,000-item shard with one
// changed item: 9,999 lines copied, one item and nothing else encrypted.
func BenchmarkEncodeOneChange10000(b *testing.B) {
	s, err := ParseShard(testBlob, benchShardN(b, 10000), testKey)
	if err != nil {
		b.Fatal(err)
	}
	rnd := testRand(3)
	for b.Loop() {
		c := s.Clone()
		c.Set("/g00/site000000/login", json.RawMessage(`{"user":"u","pass":"new"}`))
		if _, err := c.Encode(rnd, testKey); err != nil {
			b.Fatal(err)
		}
	}
}
