package format

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// testIterations keeps PBKDF2 fast in tests; DefaultIterations is for users.
const testIterations = 1000

// testRand returns a deterministic source of "randomness" for tests.
func testRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

var testKey = func() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(0xa0 + i)
	}
	return k
}()

type fixture struct {
	name string
	dir  string // the store directory
	exp  struct {
		Passphrase  string                     `json:"passphrase"`
		Iterations  int                        `json:"iterations"`
		Shards      int                        `json:"shards"`
		Documents   map[string]json.RawMessage `json:"documents"`
		Directories map[string][]string        `json:"directories"`
	}
}

func loadFixtures(t testing.TB) []*fixture {
	t.Helper()
	var out []*fixture
	for _, name := range []string{"reference-v1-1shard", "reference-v1-4shards"} {
		base := filepath.Join("..", "..", "testdata", name)
		f := &fixture{name: name, dir: filepath.Join(base, "store")}
		data, err := os.ReadFile(filepath.Join(base, "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &f.exp); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func (f *fixture) read(t testing.TB, blob string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, blob))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (f *fixture) unlock(t testing.TB) (*Config, *Keys) {
	t.Helper()
	c, err := ParseConfig(f.read(t, "config"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.Unlock([]byte(f.exp.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// mustEncode builds a shard from values with a fixed key, for tests.
func mustEncode(t testing.TB, rnd io.Reader, values map[string]string) []byte {
	t.Helper()
	s := EmptyShard()
	for p, v := range values {
		s.Set(p, json.RawMessage(v))
	}
	data, err := s.Encode(rnd, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
