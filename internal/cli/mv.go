package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// MvOptions are the options of "vaultdb mv".
type MvOptions struct {
	IO       *term.IOStreams
	OpenTask func(context.Context) (*vault.Task, error)
	Src, Dst string
	Force    bool
	Copy     bool // cp: keep the source
}

func newMvCmd(f *Factory, runF func(*MvOptions) error) *cobra.Command {
	o := &MvOptions{IO: f.IO, OpenTask: f.openTask}
	c := &cobra.Command{
		Use:   "mv SRC DST",
		Short: "Move or rename an entry or a directory",
		Long: `Move the entry SRC, or the directory SRC/ with everything below it, to DST.
If DST ends with "/" or is an existing directory, SRC moves into it. Existing
entries are not replaced unless --force. The copies are written first and
the originals removed only once the copies are safely stored.`,
		Example: `  vaultdb mv github/password github/old-password
  vaultdb mv github/ archive/       # into archive/: archive/github/...
  vaultdb mv email mail             # rename the directory email/`,
		Aliases: []string{"move"},
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Src, o.Dst = a[0], a[1]
			if runF != nil {
				return runF(o)
			}
			return runMv(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 2, false),
	}
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "replace existing entries at the destination")
	return c
}

func newCpCmd(f *Factory, runF func(*MvOptions) error) *cobra.Command {
	o := &MvOptions{IO: f.IO, OpenTask: f.openTask, Copy: true}
	c := &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy an entry or a directory",
		Long: `Copy the entry SRC, or the directory SRC/ with everything below it, to DST.
If DST ends with "/" or is an existing directory, SRC is copied into it.
Existing entries are not replaced unless --force.`,
		Example: `  vaultdb cp github/password github/old-password
  vaultdb cp work/ archive/          # into archive/: archive/work/...`,
		Aliases: []string{"copy"},
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Src, o.Dst = a[0], a[1]
			if runF != nil {
				return runF(o)
			}
			return runMv(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 2, false),
	}
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "replace existing entries at the destination")
	return c
}

// errExists: a destination entry exists and --force was not given.
type existsError struct{ path, verb string }

func (e *existsError) Error() string {
	return fmt.Sprintf("%s already exists; nothing was %s (use --force to replace it)", e.path, e.verb)
}

// verb is what the command does, for messages: "moved" or "copied".
func (o *MvOptions) verb() string {
	if o.Copy {
		return "copied"
	}
	return "moved"
}

func runMv(ctx context.Context, o *MvOptions) error {
	src, dst := absPath(o.Src), absPath(o.Dst)
	for _, p := range []string{src, dst} {
		if err := format.CheckPath(p); err != nil {
			return err
		}
	}
	t, err := o.OpenTask(ctx)
	if err != nil {
		return err
	}

	// What SRC is, and whether DST is a directory, read together.
	var (
		wg               sync.WaitGroup
		srcDoc           json.RawMessage
		srcDocErr        error
		srcDir, dstDir   []string
		srcDirE, dstDirE error
	)
	if !format.IsDir(src) {
		wg.Go(func() { srcDoc, srcDocErr = t.Get(ctx, src) })
		wg.Go(func() { srcDir, srcDirE = t.List(ctx, src+"/") })
	} else {
		wg.Go(func() { srcDir, srcDirE = t.List(ctx, src) })
	}
	if !format.IsDir(dst) {
		wg.Go(func() { dstDir, dstDirE = t.List(ctx, dst+"/") })
	}
	wg.Wait()
	if errors.Is(srcDocErr, vault.ErrNotFound) {
		srcDocErr = nil
	}
	if err := firstError(srcDocErr, srcDirE, dstDirE); err != nil {
		return err
	}
	isDoc := srcDoc != nil
	if !isDoc && len(srcDir) == 0 {
		return notFoundf("%s: no such entry or directory", src)
	}
	srcD := strings.TrimSuffix(src, "/") + "/"
	if format.IsDir(dst) || len(dstDir) > 0 {
		// Into the directory DST.
		d := strings.TrimSuffix(dst, "/") + "/"
		if isDoc {
			dst = d + format.Name(src)
		} else {
			dst = d + format.Name(srcD)
		}
	} else if !isDoc {
		dst += "/"
	}
	if isDoc {
		return moveDoc(ctx, o, t, src, dst, srcDoc)
	}
	return moveDir(ctx, o, t, srcD, dst)
}

func moveDoc(ctx context.Context, o *MvOptions, t *vault.Task, src, dst string, val json.RawMessage) error {
	if err := format.CheckDoc(dst); err != nil {
		return err
	}
	if src == dst {
		return usageErrorf("%s and %s are the same entry", src, dst)
	}
	if err := copyDocs(ctx, o, t, []string{dst}, []json.RawMessage{val}); err != nil {
		return err
	}
	if o.Copy {
		if o.IO.ErrTTY {
			fmt.Fprintf(o.IO.ErrOut, "Copied %s to %s.\n", src, dst)
		}
		return nil
	}
	if err := t.Remove(ctx, src); err != nil {
		return fmt.Errorf("copied %s to %s, but cannot remove %s: %w", src, dst, src, err)
	}
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "Moved %s to %s.\n", src, dst)
	}
	return nil
}

func moveDir(ctx context.Context, o *MvOptions, t *vault.Task, src, dst string) error {
	if err := format.CheckDir(dst); err != nil {
		return err
	}
	if strings.HasPrefix(dst, src) {
		return usageErrorf("cannot put %s into itself (%s)", src, dst)
	}
	docs, err := t.Find(ctx, src)
	if err != nil {
		return err
	}
	// Read every value at once: the task batches the shard reads.
	vals, errs := t.GetAll(ctx, docs)
	if err := firstError(errs...); err != nil {
		return fmt.Errorf("nothing was %s: %w", o.verb(), err)
	}
	targets := make([]string, len(docs))
	for i, d := range docs {
		targets[i] = dst + strings.TrimPrefix(d, src)
	}
	if err := copyDocs(ctx, o, t, targets, vals); err != nil {
		return err
	}
	if o.Copy {
		if o.IO.ErrTTY {
			fmt.Fprintf(o.IO.ErrOut, "Copied %s to %s (%s).\n", src, dst, plural(len(docs), "entry", "entries"))
		}
		return nil
	}
	// The copies are durable; now remove exactly the entries that were
	// copied (not a prune of src/, which could also delete an entry another
	// client added meanwhile, that was never copied). Emptied directories
	// go with them.
	if err := firstError(t.RemoveAll(ctx, docs)...); err != nil {
		return fmt.Errorf("copied %s to %s, but could not remove all of %s (run the same mv again with --force to finish): %w", src, dst, src, err)
	}
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "Moved %s to %s (%s).\n", src, dst, plural(len(docs), "entry", "entries"))
	}
	return nil
}

// copyDocs writes vals at paths, all in one batch, refusing to replace an
// existing entry unless --force.
func copyDocs(ctx context.Context, o *MvOptions, t *vault.Task, paths []string, vals []json.RawMessage) error {
	errs := make([]error, len(paths))
	if !o.Force {
		// Check all targets before writing anything.
		_, gerrs := t.GetAll(ctx, paths)
		for i, err := range gerrs {
			if err == nil {
				errs[i] = &existsError{paths[i], o.verb()}
			} else if !errors.Is(err, vault.ErrNotFound) {
				errs[i] = err
			}
		}
		if err := firstError(errs...); err != nil {
			return err
		}
	}
	errs = t.UpdateAll(ctx, paths, func(i int) vault.UpdateFunc {
		return func(old json.RawMessage) (json.RawMessage, error) {
			if old != nil && !o.Force {
				return nil, &existsError{paths[i], o.verb()}
			}
			return vals[i], nil
		}
	})
	if err := firstError(errs...); err != nil {
		var ee *existsError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s was created by another client meanwhile; the source is untouched (use --force to replace it)", ee.path)
		}
		return fmt.Errorf("the source is untouched: %w", err)
	}
	return nil
}
