package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestReferenceStores reads stores written by the JavaScript reference
// implementation: the known answers for everything but the random parts.
func TestReferenceStores(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			raw := f.read(t, "config")
			c, keys := f.unlock(t)
			if c.Shards() != f.exp.Shards || c.Iterations() != f.exp.Iterations {
				t.Fatalf("config: shards %d iterations %d, want %d %d", c.Shards(), c.Iterations(), f.exp.Shards, f.exp.Iterations)
			}
			out, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, raw) {
				t.Errorf("Marshal does not reproduce the reference config:\n%s\nwant\n%s", out, raw)
			}
			if _, err := c.Unlock([]byte(f.exp.Passphrase + "x")); !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("wrong passphrase: got %v, want ErrWrongPassphrase", err)
			}

			r := NewRouter(keys.Router, c.Shards())
			entries, err := os.ReadDir(f.dir)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "shard-") {
					files = append(files, e.Name())
				}
			}
			if !slices.Equal(files, r.BlobIDs()) {
				t.Fatalf("shard files %v, router blob ids %v", files, r.BlobIDs())
			}

			want := map[string][]string{}
			for p := range f.exp.Documents {
				b := r.BlobID(r.ShardOf(p))
				want[b] = append(want[b], p)
			}
			for p := range f.exp.Directories {
				b := r.BlobID(r.ShardOf(p))
				want[b] = append(want[b], p)
			}
			for _, blob := range files {
				s, err := ParseShard(blob, f.read(t, blob), keys.Cipher)
				if err != nil {
					t.Fatal(err)
				}
				Sort(want[blob])
				if !slices.Equal(s.Paths(), want[blob]) {
					t.Errorf("%s holds %q, want %q", blob, s.Paths(), want[blob])
				}
				for _, p := range s.Paths() {
					v, ok, err := s.Get(p)
					if err != nil || !ok {
						t.Fatalf("Get(%q) = %v, %v", p, ok, err)
					}
					if IsDir(p) {
						names, err := ParseList(v)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(names, f.exp.Directories[p]) {
							t.Errorf("listing of %q is %q, want %q", p, names, f.exp.Directories[p])
						}
						// Listings written here are byte-identical to the reference's.
						if got := MarshalList(names); !bytes.Equal(got, v) {
							t.Errorf("MarshalList(%q) = %s, reference wrote %s", names, got, v)
						}
						continue
					}
					var got, exp any
					if err := json.Unmarshal(v, &got); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(f.exp.Documents[p], &exp); err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, exp) {
						t.Errorf("%q = %s, want %s", p, v, f.exp.Documents[p])
					}
				}
				if s.Has("/no/such/path") {
					t.Error("Has of a missing path")
				}
				if _, ok, err := s.Get("/no/such/path"); ok || err != nil {
					t.Errorf("Get of a missing path: %v %v", ok, err)
				}
				// The index the reference wrote is in the order this package keeps.
				idx, err := DecryptItem(keys.Cipher, strings.Split(string(f.read(t, blob)), "\n")[1])
				if err != nil {
					t.Fatal(err)
				}
				if want := marshalStrings(s.Paths()); !bytes.Equal(idx, want) {
					t.Errorf("index %s, this package writes %s", idx, want)
				}
			}
		})
	}
}

// TestReferenceSortOrder checks the fixtures' listings are in the order
// Compare gives, including U+E000 after an emoji.
func TestReferenceSortOrder(t *testing.T) {
	for _, f := range loadFixtures(t) {
		for dir, names := range f.exp.Directories {
			sorted := slices.Clone(names)
			Sort(sorted)
			if !slices.Equal(sorted, names) {
				t.Errorf("%s %q: Sort gives %q", f.name, dir, sorted)
			}
		}
	}
}

// TestReferenceReencode rewrites reference shards after one change and reads
// them back: unchanged items keep the reference's ciphertext.
func TestReferenceReencode(t *testing.T) {
	f := loadFixtures(t)[0]
	_, keys := f.unlock(t)
	data := f.read(t, "shard-0000-ffff")
	s, err := ParseShard("shard-0000-ffff", data, keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	c.Set("/github/username", json.RawMessage(`"hubot"`))
	out, err := c.Encode(testRand(1), keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	old, cur := strings.Split(string(data), "\n"), strings.Split(string(out), "\n")
	if len(old) != len(cur) {
		t.Fatalf("%d lines, want %d", len(cur), len(old))
	}
	changed := slices.Index(s.Paths(), "/github/username") + 2
	for i := range old {
		if (i == 0 || i == changed) == (old[i] == cur[i]) {
			t.Errorf("line %d: changed %v", i, old[i] != cur[i])
		}
	}
	s2, err := ParseShard("shard-0000-ffff", out, keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := s2.Get("/github/username"); err != nil || string(v) != `"hubot"` {
		t.Errorf("got %s, %v", v, err)
	}
	if !s2.SameContent(c) || s2.SameContent(s) {
		t.Error("SameContent is wrong after re-encoding")
	}
}
