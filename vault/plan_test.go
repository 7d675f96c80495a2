package vault

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fakeView is a store state for the planners: documents and listings.
type fakeView struct {
	docs     map[string]bool
	dirs     map[string][]string
	notReady map[string]bool
}

func (v fakeView) exists(p string) bool {
	if strings.HasSuffix(p, "/") {
		_, ok := v.dirs[p]
		return ok
	}
	return v.docs[p]
}
func (v fakeView) listing(d string) ([]string, error) { return v.dirs[d], nil }
func (v fakeView) ready(p string) bool                { return !v.notReady[p] }

// render writes a plan as "kind item[+name][!] <- deps", one change a line,
// deps by index, so a test states a whole graph.
func render(cs []*change) string {
	idx := map[*change]int{}
	var b strings.Builder
	for i, c := range cs {
		idx[c] = i
		kind := [...]string{"put", "rm", "link", "unlink", "rmdir", "touch"}[c.kind]
		fmt.Fprintf(&b, "%d %s %s", i, kind, c.item)
		if c.name != "" {
			fmt.Fprintf(&b, "+%s", c.name)
		}
		if c.force {
			b.WriteString("!")
		}
		if len(c.after) > 0 {
			var deps []string
			for _, d := range c.after {
				deps = append(deps, fmt.Sprint(idx[d]))
			}
			slices.Sort(deps)
			fmt.Fprintf(&b, " <- %s", strings.Join(deps, ","))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestPlanGraphs(t *testing.T) {
	store := fakeView{
		docs: map[string]bool{"/a/b/x": true, "/a/y": true},
		dirs: map[string][]string{"/": {"a/", "gone/"}, "/a/": {"b/", "y"}, "/a/b/": {"x", "ghost"}},
	}
	val := json.RawMessage(`1`)
	for _, tc := range []struct {
		name string
		plan func() ([]*change, error)
		want string
	}{
		{"update of an existing document: the put alone", func() ([]*change, error) {
			return planUpdate(store, "/a/b/x", val, false)
		}, "0 put /a/b/x\n"},
		{"new document in an existing directory: every edge linked, then the put", func() ([]*change, error) {
			return planUpdate(store, "/a/b/new", val, false)
		}, "0 link /+a/!\n1 link /a/+b/!\n2 link /a/b/+new!\n3 put /a/b/new <- 0,1,2\n"},
		{"new document three new levels deep: links in parallel", func() ([]*change, error) {
			return planUpdate(store, "/p/q/r", val, false)
		}, "0 link /+p/!\n1 link /p/+q/!\n2 link /p/q/+r!\n3 put /p/q/r <- 0,1,2\n"},
		{"relink of an existing document (repair)", func() ([]*change, error) {
			return planUpdate(store, "/a/y", val, true)
		}, "0 link /+a/!\n1 link /a/+y!\n2 put /a/y <- 0,1\n"},
		{"remove: rm, then one unlink", func() ([]*change, error) {
			return planRemove(store, "/a/b/x")
		}, "0 rm /a/b/x\n1 unlink /a/b/+x <- 0\n"},
		{"remove of an absent but listed document: a touch proves it", func() ([]*change, error) {
			return planRemove(store, "/a/b/ghost")
		}, "0 touch /a/b/ghost!\n1 unlink /a/b/+ghost <- 0\n"},
		{"remove of nothing", func() ([]*change, error) {
			return planRemove(store, "/a/b/none")
		}, ""},
		{"prune: documents, then each directory after its children, then the name", func() ([]*change, error) {
			cs, ok, err := planPrune(store, "/a/")
			if !ok && err == nil {
				err = fmt.Errorf("incomplete")
			}
			return cs, err
		}, "0 rm /a/b/x\n1 touch /a/b/ghost!\n2 rmdir /a/b/ <- 0,1\n3 rm /a/y\n4 rmdir /a/ <- 2,3\n5 unlink /+a/ <- 4\n"},
		{"prune of a missing but listed directory", func() ([]*change, error) {
			cs, _, err := planPrune(store, "/gone/")
			return cs, err
		}, "0 touch /gone/!\n1 unlink /+gone/ <- 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := tc.plan()
			if err != nil {
				t.Fatal(err)
			}
			if got := render(cs); got != tc.want {
				t.Errorf("plan:\n%swant:\n%s", got, tc.want)
			}
		})
	}

	// A listing whose shard is not loaded yet: prune asks to load first.
	partial := store
	partial.notReady = map[string]bool{"/a/b/x": true}
	if cs, ok, err := planPrune(partial, "/a/"); ok || err != nil || cs != nil {
		t.Errorf("prune with an unloaded shard: %d changes, ok %v, err %v", len(cs), ok, err)
	}
}
