package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vaultdb/vaultdb/internal/specdecode"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/localdir"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/adapters/trace"
)

const testIterations = 1000 // low on purpose: tests only

var ctx = context.Background()

func newStore(t testing.TB, a adapters.Adapter, shards int) *Store {
	t.Helper()
	s, err := Create(ctx, a, []byte("pass phrase"), CreateOptions{Shards: shards, Iterations: testIterations})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decodeMem(t testing.TB, m *memory.Store) *specdecode.Store {
	t.Helper()
	d, err := specdecode.Decode(m.Blobs(), "pass phrase")
	if err != nil {
		t.Fatalf("independent decoder: %v", err)
	}
	return d
}

func str(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// pathOn returns a document path below dir whose item lands on the given
// shard index.
func pathOn(s *Store, dir string, shard int, avoid ...string) string {
	for i := 0; ; i++ {
		p := fmt.Sprintf("%sdoc%d", dir, i)
		if s.router.ShardOf(p) == shard && !slices.Contains(avoid, p) {
			return p
		}
	}
}

// recorder collects trace events.
type recorder struct {
	mu     sync.Mutex
	events []trace.Event
}

func (r *recorder) add(e trace.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

func (r *recorder) count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Op == op {
			n++
		}
	}
	return n
}

func TestUpdateGetListFindRemovePrune(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 4)
	task := s.NewTask(ctx)
	for _, p := range []string{"/github/password", "/github/username", "/a", "/a/b", "/x/y/z/w"} {
		if err := task.Set(ctx, p, str("v"+p)); err != nil {
			t.Fatal(err)
		}
	}
	task = s.NewTask(ctx)
	v, err := task.Get(ctx, "/github/password")
	if err != nil || string(v) != `"v/github/password"` {
		t.Fatalf("get: %s %v", v, err)
	}
	if _, err := task.Get(ctx, "/github/nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	names, err := task.List(ctx, "/")
	if err != nil || !slices.Equal(names, []string{"a", "a/", "github/", "x/"}) {
		t.Fatalf("list /: %q %v", names, err)
	}
	docs, err := task.Find(ctx, "/")
	want := []string{"/a", "/a/b", "/github/password", "/github/username", "/x/y/z/w"}
	if err != nil || !slices.Equal(docs, want) {
		t.Fatalf("find: %q %v", docs, err)
	}
	if err := task.Remove(ctx, "/x/y/z/w"); err != nil {
		t.Fatal(err)
	}
	if err := task.Prune(ctx, "/github/"); err != nil {
		t.Fatal(err)
	}
	d := decodeMem(t, m)
	if err := d.Invariant(); err != nil {
		t.Fatal(err)
	}
	if len(d.Docs) != 2 {
		t.Fatalf("docs left: %v", d.Docs)
	}
	wantDirs := map[string][]string{"/": {"a", "a/"}, "/a/": {"b"}}
	if fmt.Sprint(d.Dirs) != fmt.Sprint(wantDirs) {
		t.Fatalf("dirs: %v", d.Dirs)
	}
	// Update composes with the current value.
	task = s.NewTask(ctx)
	err = task.Update(ctx, "/a", func(old json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(strings.TrimSuffix(string(old), `"`) + `!"`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.NewTask(ctx).Get(ctx, "/a"); string(v) != `"v/a!"` {
		t.Fatalf("update: %s", v)
	}
	// Returning nil removes.
	if err := task.Update(ctx, "/a/b", func(json.RawMessage) (json.RawMessage, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	d = decodeMem(t, m)
	if _, ok := d.Docs["/a/b"]; ok || len(d.Dirs["/"]) != 1 {
		t.Fatalf("update to nil did not remove: %v %v", d.Docs, d.Dirs)
	}
}

func TestBadInputBeforeIO(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 2)
	var r recorder
	s.a = trace.New(m, r.add)
	task := s.NewTask(ctx)
	for _, p := range []string{"", "a", "//", "/a//b", "/./a", "/a/..", "/a\x00", "/a\nb", "/" + strings.Repeat("x", 5000)} {
		if _, err := task.Get(ctx, p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("get %q: %v", p, err)
		}
		if err := task.Set(ctx, p, str("x")); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("set %q: %v", p, err)
		}
	}
	if err := task.Set(ctx, "/dir/", str("x")); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("set on a directory path: %v", err)
	}
	if _, err := task.List(ctx, "/doc"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("list of a document path: %v", err)
	}
	if err := task.Prune(ctx, "/doc"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("prune of a document path: %v", err)
	}
	if err := task.Set(ctx, "/doc", json.RawMessage("null")); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("null value: %v", err)
	}
	if err := task.Set(ctx, "/doc", json.RawMessage("{nope")); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("bad JSON: %v", err)
	}
	if n := r.count("write"); n != 0 {
		t.Fatalf("%d writes for bad input", n)
	}
}

func TestCreateRefusesExistingStore(t *testing.T) {
	m := memory.New()
	newStore(t, m, 1)
	before := m.Blobs()
	_, err := Create(ctx, m, []byte("other"), CreateOptions{Iterations: testIterations})
	if !errors.Is(err, ErrStoreExists) {
		t.Fatalf("got %v", err)
	}
	if fmt.Sprint(before) != fmt.Sprint(m.Blobs()) {
		t.Fatal("store changed")
	}
	if _, err := Create(ctx, memory.New(), nil, CreateOptions{Iterations: testIterations}); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	m := memory.New()
	if _, err := Open(ctx, m, []byte("x"), Options{}); !errors.Is(err, ErrNoStore) {
		t.Fatalf("empty store: %v", err)
	}
	newStore(t, m, 1)
	if _, err := Open(ctx, m, []byte("wrong"), Options{}); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	m.Set("config", []byte("not json"))
	if _, err := Open(ctx, m, []byte("pass phrase"), Options{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("bad config: %v", err)
	}
	m.Set("config", []byte(`{"version": 7}`))
	_, err := Open(ctx, m, []byte("pass phrase"), Options{})
	if !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), "7") {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestChangePassphraseRewrapsOnly(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 2)
	if err := s.NewTask(ctx).Set(ctx, "/k", str("secret")); err != nil {
		t.Fatal(err)
	}
	before := m.Blobs()
	if err := s.ChangePassphrase(ctx, []byte("new pass"), 0); err != nil {
		t.Fatal(err)
	}
	after := m.Blobs()
	for id, data := range before {
		if id != ConfigBlob && string(after[id]) != string(data) {
			t.Fatalf("shard %s rewritten", id)
		}
	}
	if _, err := Open(ctx, m, []byte("pass phrase"), Options{}); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase: %v", err)
	}
	s2, err := Open(ctx, m, []byte("new pass"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.NewTask(ctx).Get(ctx, "/k"); err != nil || string(v) != `"secret"` {
		t.Fatalf("%s %v", v, err)
	}
}

// The reference stores open and read exactly as expected.json says, and can
// be written further; the result is checked by the independent decoder.
func TestReferenceFixtures(t *testing.T) {
	for _, name := range []string{"reference-v1-1shard", "reference-v1-4shards"} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("..", "testdata", name)
			var exp struct {
				Passphrase  string
				Shards      int
				Documents   map[string]json.RawMessage
				Directories map[string][]string
			}
			raw, err := os.ReadFile(filepath.Join(root, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			ents, _ := os.ReadDir(filepath.Join(root, "store"))
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(root, "store", e.Name()))
				os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
			}
			a := localdir.New(dir, localdir.Options{})
			s, err := Open(ctx, a, []byte(exp.Passphrase), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Shards() != exp.Shards {
				t.Fatalf("shards %d", s.Shards())
			}
			task := s.NewTask(ctx)
			for p, want := range exp.Documents {
				got, err := task.Get(ctx, p)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if !jsonEqual(got, want) {
					t.Errorf("%s = %s, want %s", p, got, want)
				}
			}
			for d, want := range exp.Directories {
				got, err := task.List(ctx, d)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("list %s = %q (%v), want %q", d, got, err, want)
				}
			}
			docs, err := task.Find(ctx, "/")
			if err != nil || len(docs) != len(exp.Documents) {
				t.Fatalf("find: %d docs, %v", len(docs), err)
			}
			if n := task.Stats().Reads; n > exp.Shards {
				t.Fatalf("%d shard reads in one task for %d shards", n, exp.Shards)
			}

			// Write further: add, change, remove, prune.
			task = s.NewTask(ctx)
			check := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			check(task.Set(ctx, "/github/password", str("rotated")))
			check(task.Set(ctx, "/new/dir/entry", json.RawMessage(`{"user":"me","pass":"x"}`)))
			check(task.Remove(ctx, "/a/b"))
			check(task.Prune(ctx, "/deep/"))
			check(task.Set(ctx, "/sort/\U0001F600x", str("more emoji")))

			blobs := map[string][]byte{}
			ents, _ = os.ReadDir(dir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".") {
					continue
				}
				blobs[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
			}
			d, err := specdecode.Decode(blobs, exp.Passphrase)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Invariant(); err != nil {
				t.Fatal(err)
			}
			want := map[string]json.RawMessage{}
			for p, v := range exp.Documents {
				if p == "/a/b" || strings.HasPrefix(p, "/deep/") {
					continue
				}
				want[p] = v
			}
			want["/github/password"] = str("rotated")
			want["/new/dir/entry"] = json.RawMessage(`{"user":"me","pass":"x"}`)
			want["/sort/\U0001F600x"] = str("more emoji")
			if len(d.Docs) != len(want) {
				t.Fatalf("%d docs, want %d", len(d.Docs), len(want))
			}
			for p, v := range want {
				if !jsonEqual(d.Docs[p], v) {
					t.Errorf("after writes %s = %s, want %s", p, d.Docs[p], v)
				}
			}
			if _, ok := d.Dirs["/a/"]; ok {
				t.Error("empty directory /a/ left behind")
			}
			if slices.Contains(d.Dirs["/"], "deep/") {
				t.Error("/deep/ still listed after prune")
			}
			if got := d.Dirs["/sort/"]; !slices.Equal(got, []string{"Z", "a", "é", "\U0001F600", "\U0001F600x", "\ue000"}) {
				t.Errorf("sort order %q", got)
			}
		})
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// A damaged shard names itself in the error; documents in other shards
// still read; a flipped byte in one item fails only that item.
func TestDamagedShard(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 2)
	a := pathOn(s, "/", 0)
	b := pathOn(s, "/", 1)
	a2 := pathOn(s, "/", 0, a)
	task := s.NewTask(ctx)
	for _, p := range []string{a, b, a2} {
		if err := task.Set(ctx, p, str("value of "+p)); err != nil {
			t.Fatal(err)
		}
	}
	blob0 := s.router.BlobID(0)
	good := m.Blobs()[blob0]

	// Flip one byte inside a2's item line.
	lines := strings.Split(string(good), "\n")
	paths := []string{}
	for _, p := range []string{"/", a, a2} {
		if s.router.ShardOf(p) == 0 {
			paths = append(paths, p)
		}
	}
	slices.SortFunc(paths, func(x, y string) int { return strings.Compare(x, y) })
	line := 2 + slices.Index(paths, a2)
	bs := []byte(lines[line])
	bs[len(bs)/2] ^= 'A' ^ 'B'
	if bs[len(bs)/2] == lines[line][len(bs)/2] {
		bs[len(bs)/2] = 'Q'
	}
	lines[line] = string(bs)
	m.Set(blob0, []byte(strings.Join(lines, "\n")))
	task = s.NewTask(ctx)
	if _, err := task.Get(ctx, a2); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), blob0) {
		t.Fatalf("flipped item: %v", err)
	}
	if v, err := task.Get(ctx, a); err != nil || string(v) != string(str("value of "+a)) {
		t.Fatalf("other item in the damaged shard: %s %v", v, err)
	}

	// Truncated shard: the whole shard fails, naming itself; the other
	// shard still reads.
	m.Set(blob0, good[:len(good)/2])
	task = s.NewTask(ctx)
	if _, err := task.Get(ctx, a); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), blob0) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := task.Get(ctx, b); err != nil {
		t.Fatalf("other shard: %v", err)
	}
	// Writes to a damaged shard are refused, not made over it.
	if err := task.Set(ctx, pathOn(s, "/", 0, a, a2), str("x")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("write into damaged shard: %v", err)
	}
	if string(m.Blobs()[blob0]) != string(good[:len(good)/2]) {
		t.Fatal("damaged shard was overwritten")
	}
}

// A write that changes nothing is skipped; a write re-encrypts only the
// changed item (every other line of the shard keeps its ciphertext).
func TestWritesOnlyWhatChanged(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 1)
	task := s.NewTask(ctx)
	for _, p := range []string{"/a", "/b", "/c/d"} {
		if err := task.Set(ctx, p, str("v"+p)); err != nil {
			t.Fatal(err)
		}
	}
	blob := s.router.BlobID(0)
	before := strings.Split(string(m.Blobs()[blob]), "\n")

	s2, r := traced(t, m, s)
	if err := s2.NewTask(ctx).Set(ctx, "/b", str("v/b")); err != nil {
		t.Fatal(err)
	}
	if n := r.count("write"); n != 0 {
		t.Fatalf("%d writes for an unchanged value", n)
	}
	if err := s2.NewTask(ctx).Set(ctx, "/b", str("changed")); err != nil {
		t.Fatal(err)
	}
	after := strings.Split(string(m.Blobs()[blob]), "\n")
	if len(after) != len(before) {
		t.Fatalf("%d lines, want %d", len(after), len(before))
	}
	// Lines: header, index, "/", "/a", "/b", "/c/", "/c/d".
	for i := range before {
		same := before[i] == after[i]
		switch i {
		case 0, 4: // header (new tag) and /b
			if same {
				t.Errorf("line %d unchanged", i)
			}
		default:
			if !same {
				t.Errorf("line %d re-encrypted", i)
			}
		}
	}
}
