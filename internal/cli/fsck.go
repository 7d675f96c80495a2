package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// errProblems: fsck found problems that remain; see ExitProblems.
var errProblems = errors.New("problems remain")

// FsckOptions are the options of "vaultdb fsck".
type FsckOptions struct {
	LocationEnv   func() *location.Env
	IO            *term.IOStreams
	OpenStore     func(context.Context) (*vault.Store, error)
	StoreLocation func() (location.Location, error)
	Repair        bool
}

func newFsckCmd(f *Factory, runF func(*FsckOptions) error) *cobra.Command {
	o := &FsckOptions{IO: f.IO, OpenStore: f.openStrayTolerant, LocationEnv: f.locationEnv, StoreLocation: f.storeLocation}
	c := &cobra.Command{
		Use:   "fsck",
		Short: "Check the whole store, and repair drift with --repair",
		Long: `Read every shard of the store and check it: items that cannot be read
(damaged or tampered), shards whose index and items disagree, items stored
in the wrong shard, directories that list missing children, empty
directories, and entries or directories that no directory reaches.

With --repair, fix what can be fixed safely through the normal operations:
re-link unreachable entries, drop names of missing children and empty
directories. It never deletes an entry, and prints what it changed.
Damaged shards or items are not repaired: restore them from a backup.
Shard files the config does not name are reported (stray-shard) where
the store can be listed (a local directory, a remoteStorage or Dropbox
folder): the
config's shard count was altered, or they are left from another store; in
a local directory other commands refuse to open such a store.

In a local directory, fsck also reports lock files (SHARD.lock) left by a
writer that stopped mid-write, of vaultdb or of the reference
implementation: they make the reference's writes of that shard retry
forever. --repair removes those left by vaultdb, and those of another
program once they are 30 s old (a younger one may be a write in progress,
and is only noted).

The exit code is 0 when the store is (or was made) consistent, 8 when
problems remain.`,
		Example: `  vaultdb fsck
  vaultdb fsck --repair`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return runFsck(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Repair, "repair", false, "fix directories and links that can be fixed safely")
	return c
}

func runFsck(ctx context.Context, o *FsckOptions) error {
	loc, err := o.StoreLocation()
	if err != nil {
		return err
	}
	s, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	check := func() (*vault.Report, error) {
		rep, err := s.Check(ctx)
		if err != nil {
			return nil, err
		}
		strays, err := strayShards(ctx, loc, s)
		rep.Findings = append(rep.Findings, strays...)
		return rep, err
	}
	rep, err := check()
	if err != nil {
		return err
	}
	out := o.IO.Out
	for _, sh := range rep.Shards {
		state := "ok"
		switch {
		case sh.Missing:
			state = "ok (not written yet)"
		case !sh.OK:
			state = "DAMAGED"
		}
		fmt.Fprintf(out, "%s: %d items, %s\n", sh.Blob, sh.Items, state)
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(out, term.Printable(f.String()))
	}
	lockFound, lockRemain, err := o.checkLockFiles(ctx, out, loc)
	if err != nil {
		return err
	}
	found := len(rep.Findings)
	if o.Repair && found+lockFound > 0 {
		repaired := 0
		// A repair can reveal more (an unreachable directory re-linked
		// may list a missing child): a few rounds at most.
		for round := 0; round < 3 && !rep.OK(); round++ {
			reps := s.Repair(ctx, rep)
			for _, r := range reps {
				fmt.Fprintln(out, "repair: "+term.Printable(r.String()))
				if r.Err == nil {
					repaired++
				}
			}
			if rep, err = check(); err != nil {
				return err
			}
			if len(reps) == 0 {
				break
			}
		}
		for _, f := range rep.Findings {
			fmt.Fprintln(out, "remaining: "+term.Printable(f.String()))
		}
		fmt.Fprintf(out, "%s, %s, %s: %s found, %s made, %s\n",
			plural(len(rep.Shards), "shard", "shards"), plural(rep.Docs, "entry", "entries"), plural(rep.Dirs, "directory", "directories"),
			plural(found+lockFound, "problem", "problems"), plural(repaired+lockFound-lockRemain, "repair", "repairs"), remain(len(rep.Findings)+lockRemain))
	} else {
		fmt.Fprintf(out, "%s, %s, %s: %s found\n",
			plural(len(rep.Shards), "shard", "shards"), plural(rep.Docs, "entry", "entries"), plural(rep.Dirs, "directory", "directories"),
			plural(found+lockFound, "problem", "problems"))
	}
	if per := (rep.Docs + rep.Dirs) / max(1, len(rep.Shards)); per > shardFull {
		fmt.Fprintf(out, "suggestion: the shards hold about %d items each, and every get reads a whole shard: \"vaultdb reshard %d\" makes them smaller\n",
			per, suggestShards(rep.Docs+rep.Dirs))
	}
	if lockRemain > 0 && rep.OK() {
		hint := ""
		if !o.Repair {
			hint = "; run \"vaultdb fsck --repair\" to remove them"
		}
		return hintf(errProblems, "%s in the store at %s: abandoned lock files%s", remain(lockRemain), loc, hint)
	}
	if !rep.OK() {
		hint := ""
		for _, f := range rep.Findings {
			if f.Kind.Repairable() && !o.Repair {
				hint = "; run \"vaultdb fsck --repair\" to fix what can be fixed"
				break
			}
		}
		if lockRemain > 0 && !o.Repair {
			hint = "; run \"vaultdb fsck --repair\" to fix what can be fixed"
		}
		for _, f := range rep.Findings {
			if f.Kind == vault.FindSealedShard || f.Kind == vault.FindFrozenSeal {
				hint = "; a reshard or key rotation stopped half-way: finish it with \"vaultdb reshard --resume\""
				break
			}
		}
		return hintf(errProblems, "%s in the store at %s%s", remain(len(rep.Findings)+lockRemain), loc, hint)
	}
	return nil
}

// remain says how many problems remain.
func remain(n int) string {
	if n == 1 {
		return "1 problem remains"
	}
	return fmt.Sprintf("%d problems remain", n)
}

// openStrayTolerant opens the store for fsck, which reports the shard files
// the config does not name that other commands refuse to open.
func (f *Factory) openStrayTolerant(ctx context.Context) (*vault.Store, error) {
	f.fsck = true
	return f.openStore(ctx)
}
