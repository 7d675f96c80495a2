package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/vault"
)

// RmOptions are the options of "vaultdb rm".
type RmOptions struct {
	*Factory
	Path      string
	Recursive bool
	Force     bool
}

func newRmCmd(f *Factory) *cobra.Command {
	o := &RmOptions{Factory: f}
	c := &cobra.Command{
		Use:   "rm PATH",
		Short: "Remove an entry, or a directory with -r",
		Long: `Remove the entry at PATH, or with -r everything below the directory PATH/
(and the entry PATH, if there is one). On a terminal it asks first unless
--force; when stdin is not a terminal it never asks, and refuses without
--force.`,
		Example: `  vaultdb rm github/password
  vaultdb rm -r github
  vaultdb rm -rf old/ < /dev/null`,
		Aliases: []string{"remove"},
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Path = a[0]
			return runRm(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1, false),
	}
	c.Flags().BoolVarP(&o.Recursive, "recursive", "r", false, "remove a directory and everything below it")
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "do not ask for confirmation")
	return c
}

func runRm(ctx context.Context, o *RmOptions) error {
	p := absPath(o.Path)
	var dir string
	if o.Recursive {
		var err error
		if dir, err = dirPath(p); err != nil {
			return err
		}
		if strings.HasSuffix(p, "/") {
			p = "" // only the directory
		} else if _, err := docPath(p); err != nil {
			return err
		}
	} else {
		if strings.HasSuffix(p, "/") {
			return usageErrorf("%s is a directory: use \"vaultdb rm -r %s\" to remove it and everything below it", p, o.Path)
		}
		if _, err := docPath(p); err != nil {
			return err
		}
	}
	if !o.Force && !o.IO.InTTY {
		return usageErrorf("refusing to remove %s without --force: stdin is not a terminal, so there is nobody to confirm", absPath(o.Path))
	}
	t, err := o.openTask(ctx)
	if err != nil {
		return err
	}
	if !o.Recursive {
		if _, err := t.Get(ctx, p); errors.Is(err, vault.ErrNotFound) {
			if names, lerr := t.List(ctx, p+"/"); lerr == nil && len(names) > 0 {
				return usageErrorf("%s is not an entry, but %s/ is a directory: use \"vaultdb rm -r %s\" to remove it and everything below it", p, p, o.Path)
			}
			return notFoundHint(ctx, t, p)
		} else if err != nil {
			return err
		}
		if !o.Force {
			if err := confirm(ctx, o.IO, fmt.Sprintf("Remove %s?", p)); err != nil {
				return err
			}
		}
		if err := t.Remove(ctx, p); err != nil {
			return err
		}
		if o.IO.ErrTTY {
			fmt.Fprintf(o.IO.ErrOut, "Removed %s.\n", p)
		}
		return nil
	}

	// rm -r: the entry p (if any) and everything below dir, read together.
	var (
		wg        sync.WaitGroup
		docExists bool
		docErr    error
		docs      []string
		findErr   error
	)
	if p != "" {
		wg.Go(func() {
			_, err := t.Get(ctx, p)
			docExists, docErr = err == nil, err
			if errors.Is(err, vault.ErrNotFound) {
				docErr = nil
			}
		})
	}
	wg.Go(func() { docs, findErr = t.Find(ctx, dir) })
	wg.Wait()
	if err := firstError(docErr, findErr); err != nil {
		return err
	}
	if !docExists && len(docs) == 0 {
		if p == "" {
			return notFoundf("%s: no such directory", dir)
		}
		return notFoundf("%s: no such entry or directory", p)
	}
	var what string
	switch {
	case len(docs) == 0:
		what = p
	case docExists:
		what = fmt.Sprintf("%s and %s with %s", p, dir, plural(len(docs), "entry", "entries"))
	default:
		what = fmt.Sprintf("%s with %s", dir, plural(len(docs), "entry", "entries"))
	}
	if !o.Force {
		if err := confirm(ctx, o.IO, "Remove "+what+"?"); err != nil {
			return err
		}
	}
	var rmErr, pruneErr error
	if docExists {
		wg.Go(func() { rmErr = t.Remove(ctx, p) })
	}
	if len(docs) > 0 {
		wg.Go(func() { pruneErr = t.Prune(ctx, dir) })
	}
	wg.Wait()
	if err := firstError(rmErr, pruneErr); err != nil {
		return err
	}
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "Removed %s.\n", what)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// firstError returns the first error that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
