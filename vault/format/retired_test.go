package format

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// withRetired returns the config c marshals to with its "retired" member
// replaced by list (raw JSON).
func withRetired(t *testing.T, c *Config, list string) []byte {
	t.Helper()
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "{", `{"retired": `+list+",", 1)
	return []byte(s)
}

// TestRetiredBounded: the retired list names the layouts whose file names
// every command on a local store accepts beside the live ones (the
// stray-shard check builds them all). A hostile config must not make that
// millions of names: 64 entries of 65,536 shards were accepted.
func TestRetiredBounded(t *testing.T) {
	t.Parallel()
	c, _, err := NewConfig(testRand(1), []byte("pw"), testIterations, 4)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(n, i int) string { return fmt.Sprintf(`{"n":%d,"id":"%032x"}`, n, i) }
	var huge, dup []string
	for i := range maxRetired {
		huge = append(huge, entry(MaxShards-i, i))
		dup = append(dup, entry(MaxShards, i))
	}
	for name, list := range map[string]string{
		"64 large layouts":      "[" + strings.Join(huge, ",") + "]",
		"one layout 64 times":   "[" + strings.Join(dup, ",") + "]",
		"one layout twice":      "[" + entry(8, 1) + "," + entry(8, 2) + "]",
		"the live layout":       "[" + entry(4, 1) + "]",
		"a count out of range":  "[" + entry(MaxShards+1, 1) + "]",
		"not a list of {n, id}": `{"n":8}`,
		"an id that is not hex": `[{"n":8,"id":"zz"}]`,
		"more than 64 entries":  "[" + strings.Repeat(entry(8, 1)+",", maxRetired) + entry(9, 2) + "]",
	} {
		if _, err := ParseConfig(withRetired(t, c, list)); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
	if _, err := ParseConfig(withRetired(t, c, "["+entry(8, 1)+","+entry(MaxShards, 2)+"]")); err != nil {
		t.Errorf("an honest list: %v", err)
	}
}

// TestReshardedStaysParseable: whatever moves a store makes, the config
// each one writes parses again, within the bounds above; a move past them
// is refused up front (CheckReshard) rather than forgetting a layout.
func TestReshardedStaysParseable(t *testing.T) {
	t.Parallel()
	c, _, err := NewConfig(testRand(2), []byte("pw"), testIterations, 4)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	refused := 0
	counts := []int{1, 2, 3, 4, 5, 8, 64, 1000, 4096, 32768, 40000, 50000, 60000, MaxShards - 1, MaxShards}
	for i := range 2000 {
		n := counts[r.IntN(len(counts))]
		if r.IntN(3) == 0 {
			n = 1 + r.IntN(MaxShards)
		}
		if n == c.Shards() {
			continue
		}
		if err := c.CheckReshard(n); err != nil {
			refused++
			continue
		}
		next := c.Resharded(n, fmt.Sprintf("%032x", i+1))
		if got, want := len(next.Retired()), len(c.retiredAfter(n, "")); got != want {
			t.Fatalf("move %d: a move CheckReshard allowed forgot %d retired layouts", i, want-got)
		}
		data, err := next.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if c, err = ParseConfig(data); err != nil {
			t.Fatalf("move %d, to %d shards: the config written does not parse: %v", i, n, err)
		}
		if c.Shards() != n {
			t.Fatalf("move %d: %d shards, want %d", i, c.Shards(), n)
		}
	}
	t.Logf("%d of 2000 moves refused for the bounds", refused)
}
