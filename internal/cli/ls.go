package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// LsOptions are the options of "vaultdb ls".
type LsOptions struct {
	ReadTask  func(ctx context.Context, read func(*vault.Task) error) error
	IO        *term.IOStreams
	Dir       string
	Recursive bool
}

func newLsCmd(f *Factory, runF func(*LsOptions) error) *cobra.Command {
	o := &LsOptions{ReadTask: f.readTask, IO: f.IO}
	c := &cobra.Command{
		Use:   "ls [DIR]",
		Short: "List a directory",
		Long: `List the entries and directories (with a trailing "/") in DIR, by default
the top. With -r, list every entry below DIR: as a tree on a terminal, and
as one full path per line in a pipe.`,
		Example: `  vaultdb ls
  vaultdb ls github
  vaultdb ls -r
  vaultdb ls -r | grep mail`,
		Aliases: []string{"list"},
		Args:    args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				o.Dir = a[0]
			}
			if runF != nil {
				return runF(o)
			}
			return runLs(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1, true),
	}
	c.Flags().BoolVarP(&o.Recursive, "recursive", "r", false, "list every entry below DIR")
	return c
}

func runLs(ctx context.Context, o *LsOptions) error {
	dir, err := dirPath(o.Dir)
	if err != nil {
		return err
	}
	var out []string
	var single string
	largest := 0
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		var err error
		defer func() { largest = t.Stats().LargestShard }()
		if o.Recursive {
			out, err = t.Find(ctx, dir)
		} else {
			out, err = t.List(ctx, dir)
		}
		if err != nil || len(out) > 0 {
			return err
		}
		if dir == "/" {
			// Let readTask check that the agent's keys are this store's
			// before saying that it is empty.
			return errEmptyStore
		}
		// Directories that exist are never empty. Like ls(1), list an
		// entry by itself.
		doc := strings.TrimSuffix(dir, "/")
		if _, err := t.Get(ctx, doc); err == nil {
			single = doc
			return nil
		} else if !errors.Is(err, vault.ErrNotFound) {
			return err
		}
		return notFoundf("%s: no such directory (see \"vaultdb ls\")", dir)
	})
	if errors.Is(err, errEmptyStore) {
		return nil
	}
	if err != nil {
		return err
	}
	if single != "" {
		_, err = fmt.Fprintln(o.IO.Out, single)
		return err
	}
	if n := largest; n > shardFull && o.IO.ErrTTY {
		// Only on a terminal: a script piping ls wants the names alone.
		defer fmt.Fprintf(o.IO.ErrOut, "note: a shard of this store holds %d items, and every get reads a whole shard; \"vaultdb reshard\" suggests a count that makes them smaller\n", n)
	}
	w := o.IO.Out
	if o.Recursive && o.IO.OutTTY {
		printTree(w, dir, out)
		return nil
	}
	var b strings.Builder
	for _, name := range out {
		if o.IO.OutTTY {
			// Names cannot hold control characters, but may hold bidi
			// or zero-width ones; a pipe gets them exactly.
			name = term.Printable(name)
		}
		b.WriteString(name)
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// treeNode is a directory in the tree printed by ls -r.
type treeNode struct {
	children map[string]*treeNode // name ("x" or "x/") -> node; nil for an entry
}

// printTree prints the document paths below dir as a tree.
func printTree(w io.Writer, dir string, docs []string) {
	root := &treeNode{children: map[string]*treeNode{}}
	for _, d := range docs {
		n := root
		segs := strings.Split(strings.TrimPrefix(d, dir), "/")
		for i, seg := range segs {
			if i == len(segs)-1 {
				n.children[seg] = &treeNode{}
				break
			}
			name := seg + "/"
			c := n.children[name]
			if c == nil {
				c = &treeNode{children: map[string]*treeNode{}}
				n.children[name] = c
			}
			n = c
		}
	}
	var b strings.Builder
	b.WriteString(term.Printable(dir) + "\n")
	var walk func(n *treeNode, prefix string)
	walk = func(n *treeNode, prefix string) {
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		format.Sort(names)
		for i, name := range names {
			branch, indent := "├── ", "│   "
			if i == len(names)-1 {
				branch, indent = "└── ", "    "
			}
			b.WriteString(prefix + branch + term.Printable(name) + "\n")
			if c := n.children[name]; c.children != nil {
				walk(c, prefix+indent)
			}
		}
	}
	walk(root, "")
	io.WriteString(w, b.String())
}
