package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// editItems rewrites the shard that holds path through the format package,
// bypassing the engine, to simulate drift.
func editShard(t *testing.T, s *Store, blob string, fn func(sh *format.Shard)) {
	t.Helper()
	data, rev, err := s.a.Read(ctx, blob)
	if errors.Is(err, adapters.ErrNotFound) {
		data, rev = nil, adapters.NoRev
	} else if err != nil {
		t.Fatal(err)
	}
	sh, err := format.ParseShard(blob, data, s.keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	sh = sh.Clone()
	fn(sh)
	out, err := sh.Encode(s.opts.Rand, s.keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Write(ctx, blob, out, rev); err != nil {
		t.Fatal(err)
	}
}

func setList(t *testing.T, s *Store, dir string, names ...string) {
	t.Helper()
	editShard(t, s, s.ShardOf(dir), func(sh *format.Shard) { sh.Set(dir, format.MarshalList(names)) })
}

func kinds(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.String())
	}
	return out
}

func mustCheck(t *testing.T, s *Store) *Report {
	t.Helper()
	r, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckClean(t *testing.T) {
	s := newStore(t, memory.New(), 3)
	task := s.NewTask(ctx)
	for _, p := range []string{"/a/b", "/a/c/d", "/e", "/f/g/h/i"} {
		if err := task.Set(ctx, p, str("v"+p)); err != nil {
			t.Fatal(err)
		}
	}
	r := mustCheck(t, s)
	if !r.OK() || r.Docs != 4 || r.Dirs != 6 || len(r.Shards) != 3 {
		t.Fatalf("report %+v, findings %q", r, kinds(r))
	}
	// An empty store is clean too.
	if r := mustCheck(t, newStore(t, memory.New(), 2)); !r.OK() || r.Docs != 0 {
		t.Fatalf("empty store: %q", kinds(r))
	}
}

func TestCheckRepairDrift(t *testing.T) {
	s := newStore(t, memory.New(), 3)
	task := s.NewTask(ctx)
	docs := map[string]string{"/a/b": "1", "/a/k": "2", "/o/x": "3", "/keep": "4"}
	for p, v := range docs {
		if err := task.Set(ctx, p, str(v)); err != nil {
			t.Fatal(err)
		}
	}
	// /a/ forgets b and lists a ghost; / lists a missing directory and
	// forgets o/; an empty directory /e/ hangs below /.
	setList(t, s, "/a/", "ghost", "k")
	setList(t, s, "/", "a/", "e/", "gone/", "keep")
	setList(t, s, "/e/")
	// A directory nobody lists, with nothing below it.
	setList(t, s, "/lost/", "nothing")

	r := mustCheck(t, s)
	got := kinds(r)
	for _, want := range []string{
		"unreachable " + s.ShardOf("/a/b") + " /a/b",
		"dangling-name " + s.ShardOf("/a/") + " /a/ lists ghost",
		"dangling-name " + s.ShardOf("/") + " / lists gone/",
		"empty-directory " + s.ShardOf("/e/") + " /e/",
		"unlinked-directory " + s.ShardOf("/o/") + " /o/",
		"unreachable " + s.ShardOf("/o/x") + " /o/x: / does not list o/",
		"unlinked-directory " + s.ShardOf("/lost/") + " /lost/",
		"dangling-name " + s.ShardOf("/lost/") + " /lost/ lists nothing",
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("missing finding %q in %q", want, got)
		}
	}
	if r.InvariantHolds() {
		t.Error("invariant reported as holding")
	}

	reps := s.Repair(ctx, r)
	for _, rp := range reps {
		if rp.Err != nil {
			t.Errorf("repair: %v", rp)
		}
	}
	if len(reps) == 0 {
		t.Fatal("nothing repaired")
	}
	if r := mustCheck(t, s); !r.OK() {
		t.Fatalf("after repair: %q (repairs %v)", kinds(r), reps)
	}
	found, err := s.NewTask(ctx).Find(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/a/b", "/a/k", "/keep", "/o/x"}; !slices.Equal(found, want) {
		t.Errorf("find after repair = %q, want %q", found, want)
	}
	for p, v := range docs {
		got, err := s.NewTask(ctx).Get(ctx, p)
		if err != nil || !bytes.Equal(got, str(v)) {
			t.Errorf("get %s = %s, %v", p, got, err)
		}
	}
}

func TestCheckDamage(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 4)
	task := s.NewTask(ctx)
	var paths []string
	for i := range 4 {
		paths = append(paths, pathOn(s, "/d/", i))
	}
	for _, p := range paths {
		if err := task.Set(ctx, p, str("value of "+p)); err != nil {
			t.Fatal(err)
		}
	}
	blobs := s.BlobIDs()

	// Shard 0: flip a byte in the document's item line.
	flip := paths[0]
	data, rev, _ := m.Read(ctx, blobs[0])
	lines := strings.Split(string(data), "\n")
	sh, _ := format.ParseShard(blobs[0], data, s.keys.Cipher)
	i := slices.Index(sh.Paths(), flip)
	b := []byte(lines[2+i])
	if b[len(b)/2] == 'A' {
		b[len(b)/2] = 'B'
	} else {
		b[len(b)/2] = 'A'
	}
	lines[2+i] = string(b)
	if _, err := m.Write(ctx, blobs[0], []byte(strings.Join(lines, "\n")), rev); err != nil {
		t.Fatal(err)
	}
	// Shard 1: a line deleted.
	data, rev, _ = m.Read(ctx, blobs[1])
	lines = strings.Split(string(data), "\n")
	m.Write(ctx, blobs[1], []byte(strings.Join(lines[:len(lines)-1], "\n")), rev)
	// Shard 2: a header that is not JSON.
	data, rev, _ = m.Read(ctx, blobs[2])
	m.Write(ctx, blobs[2], append([]byte("garbage"), data...), rev)
	// Shard 3: an item in the wrong shard.
	misplaced := pathOn(s, "/", 0)
	editShard(t, s, blobs[3], func(sh *format.Shard) { sh.Set(misplaced, str("x")) })

	r := mustCheck(t, s)
	got := kinds(r)
	for _, want := range []string{
		"unreadable-item " + blobs[0] + " " + flip,
		"count-mismatch " + blobs[1],
		"unreadable-shard " + blobs[2],
		"wrong-shard " + blobs[3] + " " + misplaced + ": belongs in " + blobs[0],
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("missing finding %q in %q", want, got)
		}
	}
	for _, f := range r.Findings {
		if f.Kind.Repairable() {
			t.Errorf("unexpected repairable finding %v", f)
		}
	}
	before := m.Blobs()
	if reps := s.Repair(ctx, r); len(reps) != 0 {
		t.Errorf("repairs on damage only: %v", reps)
	}
	if after := m.Blobs(); !mapsEqual(before, after) {
		t.Error("repair changed the store")
	}
	// The other documents still read.
	if v, err := s.NewTask(ctx).Get(ctx, paths[3]); err != nil || !bytes.Equal(v, str("value of "+paths[3])) {
		t.Errorf("get %s = %s, %v", paths[3], v, err)
	}
}

func mapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

var _ = json.Valid
