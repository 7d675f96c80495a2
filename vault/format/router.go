package format

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sort"
	"sync"
)

// Router maps paths to shards. Routing by a keyed HMAC keeps an observer of
// the blob store from telling which shard holds which path. A Router is safe
// for concurrent use.
type Router struct {
	key []byte
	// bounds[i] is the first id of shard i; bounds[n] is 65536.
	bounds []int
	// macs reuses keyed HMAC states: building one per call (two key
	// blocks hashed) was 13% of an import's CPU.
	macs sync.Pool
}

// NewRouter returns the router for a store with n shards and the given
// router key (Keys.Router). n must be in 1..65536, as ParseConfig
// guarantees; other values are clamped so that routing never panics.
func NewRouter(routerKey []byte, n int) *Router {
	n = max(1, min(n, MaxShards))
	r := &Router{key: append([]byte(nil), routerKey...), bounds: make([]int, n+1)}
	r.macs.New = func() any { return hmac.New(sha256.New, r.key) }
	for i := range r.bounds {
		r.bounds[i] = boundary(i, n)
	}
	return r
}

// boundary is round(65536*i/n), rounding halves up, in exact integer
// arithmetic. JavaScript's Math.round on the float quotient agrees: a
// quotient with denominator n <= 65536 is either exactly k+0.5 (which a
// float holds exactly) or at least 1/(2n) away from it, far more than the
// float error.
func boundary(i, n int) int {
	return (2*65536*i + n) / (2 * n)
}

// N returns the number of shards.
func (r *Router) N() int { return len(r.bounds) - 1 }

// ShardOf returns the index of the shard that holds path.
func (r *Router) ShardOf(path string) int {
	m := r.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(path))
	var sum [sha256.Size]byte
	h := m.Sum(sum[:0])
	r.macs.Put(m)
	id := int(h[0])<<8 | int(h[1])
	// The first shard whose end lies beyond id.
	return sort.Search(r.N(), func(i int) bool { return r.bounds[i+1] > id })
}

// BlobID returns the blob id of shard i, "shard-SSSS-EEEE" with the first and
// last id it covers, or "" if there is no shard i.
func (r *Router) BlobID(i int) string {
	if i < 0 || i >= r.N() {
		return ""
	}
	return fmt.Sprintf("shard-%04x-%04x", r.bounds[i], r.bounds[i+1]-1)
}

// Names reports whether blobID is the blob id of one of the router's
// shards, without formatting any: a store of 1,024 shards checks every
// file of its directory against its blob ids before each command.
func (r *Router) Names(blobID string) bool {
	var start, end int
	if len(blobID) != len("shard-0000-0000") || blobID[:6] != "shard-" || blobID[10] != '-' {
		return false
	}
	for _, f := range []struct {
		hex string
		v   *int
	}{{blobID[6:10], &start}, {blobID[11:], &end}} {
		for _, c := range []byte(f.hex) {
			switch {
			case '0' <= c && c <= '9':
				*f.v = *f.v<<4 | int(c-'0')
			case 'a' <= c && c <= 'f':
				*f.v = *f.v<<4 | int(c-'a'+10)
			default:
				return false
			}
		}
	}
	i := sort.SearchInts(r.bounds, start)
	return i < r.N() && r.bounds[i] == start && r.bounds[i+1]-1 == end
}

// BlobIDs returns the blob ids of all shards, in shard order.
func (r *Router) BlobIDs() []string {
	ids := make([]string, r.N())
	for i := range ids {
		ids[i] = r.BlobID(i)
	}
	return ids
}
