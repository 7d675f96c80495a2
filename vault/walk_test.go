package vault

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/memory"
	"github.com/vaultdb/vaultdb/vault/format"
)

// walkLevels (prune's scope, and the bounded walk for Find) lists what a
// plain recursive listing finds, reading each shard once.
func TestWalkLevelsListsTheTree(t *testing.T) {
	m := memory.New()
	s := newStore(t, m, 16)
	var paths []string
	for i := range 600 {
		paths = append(paths, fmt.Sprintf("/w/g%d/site%d/login", i%7, i))
	}
	paths = append(paths, "/w/top", "/other/doc")
	for i, err := range s.NewTask(ctx).UpdateAll(ctx, paths, func(i int) UpdateFunc {
		return func(json.RawMessage) (json.RawMessage, error) { return str(fmt.Sprint(i)), nil }
	}) {
		if err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
	}
	for _, dir := range []string{"/", "/w/", "/w/g3/", "/w/g3/site3/", "/missing/"} {
		wantDocs, wantDirs := listTree(t, s.NewTask(ctx), dir, true)
		format.Sort(wantDocs)
		format.Sort(wantDirs)
		task := s.NewTask(ctx)
		docs, dirs, err := task.walkLevels(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(docs, wantDocs) || !slices.Equal(dirs, wantDirs) {
			t.Fatalf("%s: %d docs %d dirs, want %d docs %d dirs", dir, len(docs), len(dirs), len(wantDocs), len(wantDirs))
		}
		if r := task.Stats().Reads; r > 16 {
			t.Errorf("%s: %d shard reads, want each of the 16 shards at most once", dir, r)
		}
	}
}

// listTree lists dir and everything below it, one List at a time; dir
// itself counts when it is the top or has children.
func listTree(t *testing.T, task *Task, dir string, top bool) (docs, dirs []string) {
	names, err := task.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 || top {
		dirs = append(dirs, dir)
	}
	for _, n := range names {
		p := dir + n
		if !format.IsDir(p) {
			docs = append(docs, p)
			continue
		}
		d, ds := listTree(t, task, p, false)
		docs, dirs = append(docs, d...), append(dirs, ds...)
	}
	return docs, dirs
}
