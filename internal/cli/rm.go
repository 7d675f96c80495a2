package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// RmOptions are the options of "vaultdb rm".
type RmOptions struct {
	IO        *term.IOStreams
	OpenTask  func(context.Context) (*vault.Task, error)
	Paths     []string
	Recursive bool
	Force     bool
}

func newRmCmd(f *Factory, runF func(*RmOptions) error) *cobra.Command {
	o := &RmOptions{IO: f.IO, OpenTask: f.openTask}
	c := &cobra.Command{
		Use:   "rm PATH...",
		Short: "Remove entries, or directories with -r",
		Long: `Remove the entry at each PATH, or with -r everything below the directory
PATH/ (and the entry PATH, if there is one). If one PATH is not there,
nothing is removed. On a terminal it asks first unless
--force; when stdin is not a terminal it never asks, and refuses without
--force.`,
		Example: `  vaultdb rm github/password
  vaultdb rm -r github
  vaultdb rm old/token old/key
  vaultdb rm -rf old/ < /dev/null`,
		Aliases: []string{"remove"},
		Args:    args(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Paths = a
			if runF != nil {
				return runF(o)
			}
			return runRm(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1<<20, false),
	}
	c.Flags().BoolVarP(&o.Recursive, "recursive", "r", false, "remove a directory and everything below it")
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "do not ask for confirmation")
	return c
}

// rmTarget is what one argument of rm removes: the entry doc (if any)
// and, with -r, everything below dir.
type rmTarget struct {
	arg       string
	doc, dir  string
	docExists bool
	docs      []string
}

func runRm(ctx context.Context, o *RmOptions) error {
	// Every argument is checked before any I/O, and found before anything
	// is removed: a typo in one removes nothing.
	targets := make([]*rmTarget, len(o.Paths))
	for i, arg := range o.Paths {
		tg, err := rmParse(o, arg)
		if err != nil {
			return err
		}
		targets[i] = tg
	}
	if !o.Force && !o.IO.InTTY {
		return usageErrorf("refusing to remove %s without --force: stdin is not a terminal, so there is nobody to confirm", strings.Join(o.Paths, ", "))
	}
	t, err := o.OpenTask(ctx)
	if err != nil {
		return err
	}
	whats := make([]string, len(targets))
	for i, tg := range targets {
		if whats[i], err = rmFind(ctx, o, t, tg); err != nil {
			return err
		}
	}
	what := strings.Join(whats, ", ")
	if !o.Force {
		if err := confirm(ctx, o.IO, "Remove "+what+"?"); err != nil {
			return err
		}
	}
	// One argument after the other, so that no two plans of the task
	// unlink from the same directory at once.
	for _, tg := range targets {
		var wg sync.WaitGroup
		var rmErr, pruneErr error
		if tg.docExists {
			wg.Go(func() { rmErr = t.Remove(ctx, tg.doc) })
		}
		if len(tg.docs) > 0 {
			wg.Go(func() { pruneErr = t.Prune(ctx, tg.dir) })
		}
		wg.Wait()
		if err := firstError(rmErr, pruneErr); err != nil {
			return err
		}
	}
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "Removed %s.\n", what)
	}
	return nil
}

// rmParse checks one argument of rm, before any I/O.
func rmParse(o *RmOptions, arg string) (*rmTarget, error) {
	p := absPath(arg)
	tg := &rmTarget{arg: arg}
	if o.Recursive {
		var err error
		if tg.dir, err = dirPath(p); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(p, "/") {
			if _, err := docPath(p); err != nil {
				return nil, err
			}
			tg.doc = p
		}
		return tg, nil
	}
	if strings.HasSuffix(p, "/") {
		return nil, usageErrorf("%s is a directory: use \"vaultdb rm -r %s\" to remove it and everything below it", p, arg)
	}
	if _, err := docPath(p); err != nil {
		return nil, err
	}
	tg.doc = p
	return tg, nil
}

// rmFind finds what tg removes and describes it, or says why not.
func rmFind(ctx context.Context, o *RmOptions, t *vault.Task, tg *rmTarget) (string, error) {
	if !o.Recursive {
		p := tg.doc
		if _, err := t.Get(ctx, p); errors.Is(err, vault.ErrNotFound) {
			if names, lerr := t.List(ctx, p+"/"); lerr == nil && len(names) > 0 {
				return "", usageErrorf("%s is not an entry, but %s/ is a directory: use \"vaultdb rm -r %s\" to remove it and everything below it; nothing was removed", p, p, tg.arg)
			}
			return "", notFoundHint(ctx, t, p)
		} else if err != nil {
			return "", err
		}
		tg.docExists = true
		return p, nil
	}

	// rm -r: the entry (if any) and everything below dir, read together.
	var (
		wg      sync.WaitGroup
		docErr  error
		findErr error
	)
	if tg.doc != "" {
		wg.Go(func() {
			_, err := t.Get(ctx, tg.doc)
			tg.docExists, docErr = err == nil, err
			if errors.Is(err, vault.ErrNotFound) {
				docErr = nil
			}
		})
	}
	wg.Go(func() { tg.docs, findErr = t.Find(ctx, tg.dir) })
	wg.Wait()
	if err := firstError(docErr, findErr); err != nil {
		return "", err
	}
	switch {
	case !tg.docExists && len(tg.docs) == 0 && tg.doc == "":
		return "", notFoundf("%s: no such directory; nothing was removed", tg.dir)
	case !tg.docExists && len(tg.docs) == 0:
		return "", notFoundf("%s: no such entry or directory; nothing was removed", tg.doc)
	case len(tg.docs) == 0:
		return tg.doc, nil
	case tg.docExists:
		return fmt.Sprintf("%s and %s with %s", tg.doc, tg.dir, plural(len(tg.docs), "entry", "entries")), nil
	default:
		return fmt.Sprintf("%s with %s", tg.dir, plural(len(tg.docs), "entry", "entries")), nil
	}
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
