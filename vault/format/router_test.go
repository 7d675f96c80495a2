package format

import (
	"fmt"
	"math"
	"testing"
)

func TestRouterBoundaries(t *testing.T) {
	tests := map[int][]string{
		1: {"shard-0000-ffff"},
		2: {"shard-0000-7fff", "shard-8000-ffff"},
		// 21845.33 and 43690.67
		3: {"shard-0000-5554", "shard-5555-aaaa", "shard-aaab-ffff"},
		4: {"shard-0000-3fff", "shard-4000-7fff", "shard-8000-bfff", "shard-c000-ffff"},
		// 9362.29, 18724.57, 28086.86, 37449.14, 46811.43, 56173.71
		7: {"shard-0000-2491", "shard-2492-4924", "shard-4925-6db6", "shard-6db7-9248", "shard-9249-b6da", "shard-b6db-db6d", "shard-db6e-ffff"},
	}
	for n, want := range tests {
		r := NewRouter(testKey, n)
		if got := r.BlobIDs(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("n=%d: %q, want %q", n, got, want)
		}
	}
	r := NewRouter(testKey, 16)
	for i := range 16 {
		if got, want := r.BlobID(i), fmt.Sprintf("shard-%x000-%xfff", i, i); got != want {
			t.Errorf("n=16 shard %d: %s, want %s", i, got, want)
		}
	}
	r = NewRouter(testKey, 65536)
	if r.N() != 65536 || r.BlobID(0) != "shard-0000-0000" || r.BlobID(0xabcd) != "shard-abcd-abcd" || r.BlobID(65535) != "shard-ffff-ffff" {
		t.Errorf("n=65536: %s %s %s", r.BlobID(0), r.BlobID(0xabcd), r.BlobID(65535))
	}
	if r.BlobID(-1) != "" || r.BlobID(65536) != "" {
		t.Error("BlobID out of range")
	}
	if NewRouter(testKey, 0).N() != 1 || NewRouter(testKey, 1<<20).N() != 65536 {
		t.Error("out-of-range n not clamped")
	}
}

// TestBoundaryMatchesJavaScript checks the integer formula against
// Math.round(65536*i/n), i.e. floor(x+0.5) on a float64.
func TestBoundaryMatchesJavaScript(t *testing.T) {
	check := func(n int) {
		for i := 0; i <= n; i++ {
			js := int(math.Floor(65536*float64(i)/float64(n) + 0.5))
			if b := boundary(i, n); b != js {
				t.Fatalf("boundary(%d, %d) = %d, JavaScript %d", i, n, b, js)
			}
		}
	}
	for n := 1; n <= 3000; n++ {
		check(n)
	}
	for _, n := range []int{4096, 10000, 32767, 32768, 43690, 65535, 65536} {
		check(n)
	}
}

func TestShardOf(t *testing.T) {
	// Known answers from node's crypto.createHmac with key 0x00..0x3f: the
	// first two bytes of HMAC-SHA256 of the path.
	key := make([]byte, 64)
	for i := range key {
		key[i] = byte(i)
	}
	ids := map[string]int{"/": 85, "/a": 59953, "/github/password": 33025, "/sort/😀": 49780}
	for _, n := range []int{1, 2, 3, 7, 65536} {
		r := NewRouter(key, n)
		for p, id := range ids {
			i := r.ShardOf(p)
			if i < 0 || i >= n || id < boundary(i, n) || id >= boundary(i+1, n) {
				t.Errorf("n=%d: %q (id %d) routed to %s", n, p, id, r.BlobID(i))
			}
		}
	}
}

// Names knows exactly the ids BlobIDs lists.
func TestRouterNames(t *testing.T) {
	for _, n := range []int{1, 3, 4, 256, 1000, 1024, 65536} {
		r := NewRouter(testKey, n)
		ids := map[string]bool{}
		for _, id := range r.BlobIDs() {
			ids[id] = true
			if !r.Names(id) {
				t.Fatalf("n=%d: %s not named", n, id)
			}
		}
		for _, id := range NewRouter(testKey, n+1).BlobIDs() {
			if r.Names(id) != ids[id] {
				t.Fatalf("n=%d: Names(%s) = %v", n, id, r.Names(id))
			}
		}
	}
	r := NewRouter(testKey, 4)
	for _, id := range []string{"", "config", "shard-0000-3FFF", "shard-0000-3fff.lock", "shard-0000_3fff", "shard-0000-3ffe", "shard-4000-ffff", "xhard-0000-3fff"} {
		if r.Names(id) {
			t.Errorf("Names(%q) = true", id)
		}
	}
}
