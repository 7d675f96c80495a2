package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// ReshardOptions are the options of "vaultdb reshard".
type ReshardOptions struct {
	IO            *term.IOStreams
	Now           func() time.Time
	StoreLocation func() (location.Location, error)
	OpenStore     func(context.Context) (*vault.Store, error)
	// UnlockStore also returns the passphrase (a resumed key rotation
	// wraps the new keys under it).
	UnlockStore  func(context.Context) (*vault.Store, []byte, error)
	AgentRefresh func(context.Context, *format.Keys)

	Shards int // 0: report and suggest
	Resume bool
}

func newReshardCmd(f *Factory, runF func(*ReshardOptions) error) *cobra.Command {
	o := &ReshardOptions{IO: f.IO, Now: f.Now, StoreLocation: f.storeLocation, OpenStore: f.openStore,
		UnlockStore: f.unlockStore, AgentRefresh: f.agentRefresh}
	c := &cobra.Command{
		Use:   "reshard [N]",
		Short: "Move the store to N shard files",
		Long: `Move the store to N shard files, while other clients keep using it.

A get or set reads and writes one whole shard file, so a store with many
entries per shard is slow; more shards keep each file small. Without N,
reshard says how many entries the store's shards hold and suggests a count.

The move seals the old files first: a client that opened the store before
(this program or another VaultDB implementation, on any machine) then fails
with an error instead of writing where nobody will read, and works again
when run anew. What the sealed files froze is written to the new files, and
only then does the config switch to them. The old files stay as small
sealed markers. If the move stops half-way (a crash, a lost connection),
every command reports it until "vaultdb reshard --resume" finishes it; no
entry is lost either way. See docs/design.md, section 8.`,
		Example: `  vaultdb reshard          # how full are the shards?
  vaultdb reshard 64
  vaultdb reshard --resume # finish a move that was interrupted`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if len(a) == 1 {
				n, err := strconv.Atoi(a[0])
				if err != nil || n < 1 || n > format.MaxShards {
					return usageErrorf("the shard count must be a number from 1 to %d", format.MaxShards)
				}
				o.Shards = n
			}
			if o.Resume && o.Shards != 0 {
				return usageErrorf("--resume takes no shard count: it finishes the move that was started")
			}
			if runF != nil {
				return runF(o)
			}
			return runReshard(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Resume, "resume", false, "finish a reshard or key rotation that stopped half-way")
	return c
}

func runReshard(ctx context.Context, o *ReshardOptions) error {
	loc, err := o.StoreLocation()
	if err != nil {
		return err
	}
	if o.Resume {
		// A resumed key rotation wraps the new keys under the passphrase.
		s, pass, err := o.UnlockStore(ctx)
		if err != nil {
			return err
		}
		defer term.Wipe(pass)
		res, err := s.ResumeMigration(ctx, pass)
		if err != nil {
			return err
		}
		if res != nil {
			if s, err := s.Reopen(ctx, pass); err == nil {
				o.AgentRefresh(ctx, s.Keys())
			}
		}
		if res == nil {
			fmt.Fprintf(o.IO.ErrOut, "Nothing to resume: no reshard of the store at %s stopped half-way.\n", loc)
			return nil
		}
		fmt.Fprintf(o.IO.ErrOut, "Finished the move of the store at %s from %d to %d shards.\n", loc, res.From, res.To)
		return nil
	}
	s, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	if o.Shards == 0 {
		items, err := countItems(ctx, s)
		if err != nil {
			return err
		}
		per := items / s.Shards()
		fmt.Fprintf(o.IO.Out, "%s, %s (entries and directories), about %d per shard\n", plural(s.Shards(), "shard", "shards"), plural(items, "item", "items"), per)
		if n := suggestShards(items); n > s.Shards() && per > shardFull/2 {
			fmt.Fprintf(o.IO.Out, "suggested: vaultdb reshard %d\n", n)
		}
		return nil
	}
	if err := vault.CheckLayout(s.Shards(), o.Shards); err != nil {
		return usageErrorf("cannot move the store from %d to %d shards: %v", s.Shards(), o.Shards, err)
	}
	started := o.Now()
	res, err := s.Migrate(ctx, vault.MigrateOptions{Shards: o.Shards, Now: o.Now})
	if err != nil {
		return err
	}
	o.AgentRefresh(ctx, s.Keys())
	fmt.Fprintf(o.IO.ErrOut, "Moved %d items of the store at %s from %d to %d shards in %s.\n",
		res.Items, loc, res.From, res.To, o.Now().Sub(started).Round(time.Millisecond))
	if res.Unrouted > 0 {
		fmt.Fprintf(o.IO.ErrOut, "Left behind %d items that sat in a shard their path does not route to (no command could reach them; \"vaultdb fsck\" reported them as wrong-shard).\n", res.Unrouted)
	}
	return nil
}

// shardFull is the number of items per shard above which fsck suggests a
// reshard: a get then reads and decrypts the index of that many paths
// (about 4,000 items is 1 MiB of shard).
const shardFull = 2000

// suggestShards is the shard count for items: a power of two giving at most
// 500 items per shard, at least the default.
func suggestShards(items int) int {
	n := vault.DefaultShards
	for n < format.MaxShards && items/n > 500 {
		n *= 2
	}
	return n
}

// countItems counts every item of the store (one read of each shard).
func countItems(ctx context.Context, s *vault.Store) (int, error) {
	rep, err := s.Check(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sh := range rep.Shards {
		n += sh.Items
	}
	return n, nil
}

// moveHint says what to do about an error from a store that is being, or
// was, moved to another shard layout while the command ran.
func (f *Factory) moveHint(err error) string {
	var me *vault.MigratingError
	if errors.As(err, &me) {
		return fmt.Sprintf("if no reshard is running any more, finish it with \"vaultdb reshard --resume\" (it started %s)", me.Seal.At)
	}
	if errors.Is(err, vault.ErrOvertaken) {
		return "while this run was stopped another run finished the move and the store was moved again since; this run wrote nothing after that: see where the store is with \"vaultdb reshard\""
	}
	var gone *vault.LayoutGoneError
	if errors.As(err, &gone) {
		return "the store was moved while this command ran, and the sealed files the move left were deleted; run the command again, and \"vaultdb fsck --repair\" to seal those files again: clients that opened the store before the move (a web page left open) then fail instead of writing where nobody reads"
	}
	var moved *format.MovedError
	if !errors.As(err, &moved) || f.loc == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, aerr := f.adapter(ctx, *f.loc)
	if aerr != nil {
		return ""
	}
	l, lerr := vault.Locate(ctx, a, f.VaultOptions)
	if lerr == nil && l.Shards() == moved.Seal.To {
		return "the store was moved to other shard files while this command ran; what it did before that is kept; run it again"
	}
	return fmt.Sprintf("a reshard to %d shards started %s is under way; run the command again when it is done, or, if no reshard is running any more, finish it with \"vaultdb reshard --resume\"", moved.Seal.To, moved.Seal.At)
}

// agentRefresh hands the agent the keys of the store at loc as its config
// is now, after a move changed the config (and, for a rotation, the keys):
// the next command then needs no passphrase. Without an agent it does
// nothing; if the store cannot be read now, the agent just forgets it.
func (f *Factory) agentRefresh(ctx context.Context, keys *format.Keys) {
	loc, err := f.storeLocation()
	if err != nil || f.agent() == nil {
		return
	}
	a, err := f.adapter(ctx, loc)
	if err == nil {
		var l *vault.Locked
		if l, err = vault.Locate(ctx, a, f.VaultOptions); err == nil {
			var s *vault.Store
			if s, err = l.Unlock(ctx, vault.Keys(keys)); err == nil {
				f.agentPut(loc, l, s)
				return
			}
		}
	}
	f.agentForget(loc)
}
