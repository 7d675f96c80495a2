package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/vault/format"
)

// editItem sets (or with value nil deletes) one item of a local store
// directly in its shard file, bypassing the engine, to make drift.
func editItem(t *testing.T, dir, pass, path string, value []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := format.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.Unlock([]byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	r := format.NewRouter(keys.Router, cfg.Shards())
	blob := r.BlobID(r.ShardOf(path))
	file := filepath.Join(dir, blob)
	data, err = os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sh, err := format.ParseShard(blob, data, keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	sh = sh.Clone()
	if value == nil {
		sh.Delete(path)
	} else {
		sh.Set(path, value)
	}
	out, err := sh.Encode(rand.Reader, keys.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFsck(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.must("", "init", "--iterations", "1000", "--shards", "3")
	s.must("1", "set", "a/b")
	s.must("2", "set", "c/d")
	r := s.run("", nil, "fsck")
	check(t, r, 0, "*", "")
	if !strings.Contains(r.out, "3 shards, 2 entries, 3 directories: 0 problems found") {
		t.Errorf("fsck output: %s", r.out)
	}

	// Drift: / forgets a/ and lists a ghost entry; an empty directory.
	editItem(t, s.dir, "pw", "/", format.MarshalList([]string{"c/", "ghost", "e/"}))
	editItem(t, s.dir, "pw", "/e/", format.MarshalList(nil))
	check(t, s.run("", nil, "ls", "-r"), 0, "/c/d\n/ghost\n", "")
	r = s.run("", nil, "fsck")
	check(t, r, 8, "*", "run \"vaultdb fsck --repair\"")
	for _, want := range []string{"unreachable shard-", " /a/b: / does not list a/", "unlinked-directory ", " / lists ghost", "empty-directory "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("fsck output lacks %q:\n%s", want, r.out)
		}
	}
	r = s.run("", nil, "fsck", "--repair")
	check(t, r, 0, "*", "")
	for _, want := range []string{"repair: re-linked /a/b", "repair: dropped name ghost from /", "repair: dropped empty directory /e/", "0 problems remain"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("fsck --repair output lacks %q:\n%s", want, r.out)
		}
	}
	check(t, s.run("", nil, "fsck"), 0, "*", "")
	check(t, s.run("", nil, "ls", "-r"), 0, "/a/b\n/c/d\n", "")
	check(t, s.run("", nil, "get", "a/b"), 0, "1\n", "")
}
