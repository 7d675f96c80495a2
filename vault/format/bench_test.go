package format

import (
	"encoding/json"
	"fmt"
	"testing"
)

func benchShard(b *testing.B) []byte {
	values := map[string]string{}
	for i := range 1000 {
		values[fmt.Sprintf("/site%04d/password", i)] = fmt.Sprintf(`{"user":"user%d","pass":"correct horse battery staple %d"}`, i, i)
	}
	return mustEncode(b, testRand(1), values)
}

// BenchmarkParseGet is the read path: parse a 1,000-item shard (which
// decrypts the index) and read one value.
func BenchmarkParseGet(b *testing.B) {
	data := benchShard(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s, err := ParseShard(testBlob, data, testKey)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Get("/site0500/password"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeOneChange is the write path: one changed item in a
// 1,000-item shard, the other 999 lines copied.
func BenchmarkEncodeOneChange(b *testing.B) {
	s, err := ParseShard(testBlob, benchShard(b), testKey)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c := s.Clone()
		c.Set("/site0500/password", json.RawMessage(`{"user":"u","pass":"new"}`))
		if _, err := c.Encode(nil, testKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShardOf is routing one path: on every item of every plan.
func BenchmarkShardOf(b *testing.B) {
	r := NewRouter(make([]byte, 64), 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.ShardOf("/import/group7/entry12345")
	}
}
