package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// InitOptions are the options of "vaultdb init".
type InitOptions struct {
	AgentForget   func(location.Location)
	IO            *term.IOStreams
	StoreLocation func() (location.Location, error)
	Adapter       func(context.Context, location.Location) (adapters.Adapter, error)
	Passphrase    func(ctx context.Context, prompt string, confirm bool) ([]byte, string, error)
	VaultOptions  vault.Options
	Shards        int
	Iterations    int
	AllowWeak     bool
}

func newInitCmd(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	o := &InitOptions{AgentForget: f.agentForget, IO: f.IO, StoreLocation: f.storeLocation, Adapter: f.adapter, Passphrase: f.passphrase, VaultOptions: f.VaultOptions}
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a new, empty store",
		Long: `Create a new store at the store location. The passphrase is asked twice.
An existing store is never touched. A passphrase estimated weak (below
45 bits, where a dictionary word counts 15, a year 8, a repeat or sequence
little) gets a warning, and at the prompt a question.`,
		Example: `  vaultdb init
  vaultdb --store dropbox:/vault init --shards 8   # a folder in Dropbox, after "vaultdb login dropbox"

  # ~/Dropbox/vault, the folder the Dropbox desktop app syncs, is only safe
  # for one machine: the app syncs whole files without compare-and-swap, so
  # writes from two machines at once can be lost. Use dropbox:/vault instead.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Shards < 1 || o.Shards > 65536 {
				return usageErrorf("--shards must be from 1 to 65536")
			}
			if o.Iterations < 1 || o.Iterations > format.MaxIterations {
				return usageErrorf("--iterations must be from 1 to %d", format.MaxIterations)
			}
			if runF != nil {
				return runF(o)
			}
			return runInit(c.Context(), o)
		},
	}
	c.Flags().IntVar(&o.Shards, "shards", vault.DefaultShards, "number of shard files")
	c.Flags().IntVar(&o.Iterations, "iterations", vault.DefaultIterations, fmt.Sprintf("PBKDF2 iterations of the passphrase, at most %d (lower only for tests)", format.MaxIterations))
	c.Flags().BoolVar(&o.AllowWeak, "allow-weak-passphrase", false, "do not ask to confirm a passphrase estimated weak")
	return c
}

func runInit(ctx context.Context, o *InitOptions) error {
	loc, err := o.StoreLocation()
	if err != nil {
		return err
	}
	exists := hintf(vault.ErrStoreExists, "a store already exists at %s; nothing was changed (use \"vaultdb passwd\" to change its passphrase)", loc)
	a, err := o.Adapter(ctx, loc)
	if err != nil {
		return err
	}
	// Check first, so that nobody types a new passphrase twice for nothing.
	switch _, err := vault.Locate(ctx, a, o.VaultOptions); {
	case err == nil, errors.Is(err, vault.ErrBadConfig), errors.Is(err, vault.ErrUnsupportedVersion):
		// Something is there, even if this program cannot read it.
		return exists
	case !errors.Is(err, vault.ErrNoStore):
		return fmt.Errorf("cannot read %s: %w", loc, err)
	}
	switch left, err := leftoverShards(ctx, loc, a, o.Shards); {
	case err != nil:
		return err
	case len(left) > 0:
		return hintf(vault.ErrStoreExists, "%s has no config but holds shard files (%s) left from a store: a new store would sit beside them; restore that store's config, or move the files away; nothing was changed", loc, idList(left))
	}
	pass, source, err := o.Passphrase(ctx, "New passphrase for "+loc.String()+": ", true)
	if err != nil {
		return err
	}
	defer term.Wipe(pass)
	if err := checkNewPassphrase(ctx, o.IO, pass, source == "", o.AllowWeak, "passphrase"); err != nil {
		return err
	}
	if o.Iterations < vault.DefaultIterations {
		fmt.Fprintf(o.IO.ErrOut, "warning: %d iterations is below the default of %d and makes the passphrase easier to guess; use it only for tests\n", o.Iterations, vault.DefaultIterations)
	}
	_, err = vault.Create(ctx, a, pass, vault.CreateOptions{Options: o.VaultOptions, Shards: o.Shards, Iterations: o.Iterations})
	if errors.Is(err, vault.ErrStoreExists) {
		return exists
	}
	if err != nil {
		return fmt.Errorf("cannot create a store at %s: %w", loc, err)
	}
	// Keys the agent holds for a store that was here before are stale.
	o.AgentForget(loc)
	fmt.Fprintf(o.IO.ErrOut, "Created a store at %s (%d shards).\n", loc, o.Shards)
	return nil
}
