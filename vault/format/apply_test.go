package format

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Apply must make what Set and Delete on a Clone make, edit by edit: the
// same paths, values and errors, the unchanged items (and so their
// ciphertext) kept wherever Set keeps them, the index line kept exactly when the set of paths did
// not change (also when a later edit undid an earlier one), and the shard
// it was called on untouched.
func TestApplyMatchesSetDelete(t *testing.T) {
	base := parse(t, mustEncode(t, testRand(1), smallValues))
	paths := []string{"/", "/a", "/b/", "/b/c", "/d", "/b/e", "/x/", "/é", "/bad path\x00"}
	values := []json.RawMessage{nil, json.RawMessage(`"alpha"`), json.RawMessage(`{"k": 1}`),
		json.RawMessage(`["a","b/","d"]`), json.RawMessage(`null`), json.RawMessage(`{bad`)}
	before := base.Paths()
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 1))
		var edits []Edit
		want := base.Clone()
		for range r.IntN(8) {
			e := Edit{Path: paths[r.IntN(len(paths))], Value: values[r.IntN(len(values))]}
			edits = append(edits, e)
			if e.Value == nil {
				want.Delete(e.Path)
			} else {
				want.Set(e.Path, e.Value)
			}
		}
		got := base.Apply(edits)
		if !slices.Equal(got.paths, want.paths) {
			t.Fatalf("seed %d: paths %q, want %q", seed, got.paths, want.paths)
		}
		for i := range got.items {
			g, w := got.items[i], want.items[i]
			if slices.Contains(base.items, w) && g != w {
				t.Fatalf("seed %d: %s: Set kept the stored item, Apply did not", seed, got.paths[i])
			}
			// Apply may keep a stored item where Set made a new one of the
			// same value (a later edit undid an earlier one): better, as
			// its ciphertext stays.
			gv, _, gerr := got.plaintext(i)
			wv, _, werr := want.plaintext(i)
			if string(gv) != string(wv) || (gerr == nil) != (werr == nil) {
				t.Fatalf("seed %d: %s: value %q err %v, want %q err %v", seed, got.paths[i], gv, gerr, wv, werr)
			}
		}
		// The index line is kept exactly when it still lists the paths
		// (Set and Delete drop it on any insertion or deletion, even one
		// undone later).
		if same := slices.Equal(got.paths, before); (got.index != "") != same {
			t.Fatalf("seed %d: index kept %v, paths unchanged %v", seed, got.index != "", same)
		}
		if !slices.Equal(base.Paths(), before) || base.index == "" {
			t.Fatalf("seed %d: Apply changed the shard it was called on", seed)
		}
	}
}

// BenchmarkApplyNew4096 is the import path into a large shard: 4,096 new
// documents (one wave of a batch) added to a 10,000-item shard and encoded.
func BenchmarkApplyNew4096(b *testing.B) {
	s, err := ParseShard(testBlob, benchShardN(b, 10000), testKey)
	if err != nil {
		b.Fatal(err)
	}
	edits := make([]Edit, 4096)
	for i := range edits {
		edits[i] = Edit{Path: fmt.Sprintf("/g%02d/new%06d/login", i%100, i),
			Value: json.RawMessage(fmt.Sprintf(`{"user":"user%d@example.com","pass":"p%08d-Xq7vLm2kR9tz"}`, i, i))}
	}
	rnd := testRand(4)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Apply(edits).EncodeState(rnd, testKey); err != nil {
			b.Fatal(err)
		}
	}
}
