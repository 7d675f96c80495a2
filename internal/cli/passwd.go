package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
	"github.com/vaultdb/vaultdb/vault/format"
)

// PasswdOptions are the options of "vaultdb passwd".
type PasswdOptions struct {
	IO            *term.IOStreams
	Now           func() time.Time
	StoreLocation func() (location.Location, error)
	// OpenStore unlocks the store with the passphrase, even when the agent
	// holds its keys: whoever may use the agent must not be able to lock
	// the owner out.
	OpenStore func(context.Context) (*vault.Store, error)
	// UnlockStore also returns the passphrase (a key rotation wraps the new
	// keys under it).
	UnlockStore  func(context.Context) (*vault.Store, []byte, error)
	AgentForget  func(location.Location)
	AgentRefresh func(context.Context, *format.Keys)

	NewPassphraseFile string
	Iterations        int
	RotateKeys        bool
	AllowWeak         bool
}

func newPasswdCmd(f *Factory, runF func(*PasswdOptions) error) *cobra.Command {
	o := &PasswdOptions{
		IO: f.IO, Now: f.Now, StoreLocation: f.storeLocation, UnlockStore: f.unlockStore,
		AgentForget: f.agentForget, AgentRefresh: f.agentRefresh,
		OpenStore: func(ctx context.Context) (*vault.Store, error) {
			f.passphraseOnly = true
			return f.openStore(ctx)
		},
	}
	c := &cobra.Command{
		Use:   "passwd",
		Short: "Change the store's passphrase",
		Long: `Change the passphrase: the store's keys are wrapped again under the new
passphrase; no entry is rewritten. The new passphrase is asked twice on the
terminal, or read from --new-passphrase-file.

The keys themselves do not change: whoever has the old passphrase and a copy
of the old config (a backup, Dropbox's version history) can still decrypt
the whole store, entries written after the change included. If both may
have leaked, rotate the keys as well.

With --rotate-keys, passwd makes new keys instead and keeps the passphrase:
every entry is re-encrypted under them and moved to new shard files, while
other clients keep using the store (the same move as "vaultdb reshard",
twice: to one more shard with the new keys, then back). An old config with
the old passphrase then opens nothing the store holds. Copies of the store
made before (backups, file histories) still open with the old passphrase
and the old config: delete them. To change the passphrase too, run passwd
again without --rotate-keys.`,
		Example: `  vaultdb passwd
  vaultdb passwd --passphrase-file old.txt --new-passphrase-file new.txt`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.RotateKeys && (o.NewPassphraseFile != "" || o.Iterations != 0) {
				return usageErrorf("--rotate-keys keeps the passphrase: run passwd again without it to change the passphrase")
			}
			if o.Iterations < 0 || o.Iterations > format.MaxIterations {
				return usageErrorf("--iterations must be from 1 to %d", format.MaxIterations)
			}
			if runF != nil {
				return runF(o)
			}
			if o.RotateKeys {
				return runRotateKeys(c.Context(), o)
			}
			return runPasswd(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.AllowWeak, "allow-weak-passphrase", false, "do not ask to confirm a passphrase estimated weak")
	c.Flags().StringVar(&o.NewPassphraseFile, "new-passphrase-file", "", "read the new passphrase from the first line of `FILE`")
	c.Flags().IntVar(&o.Iterations, "iterations", 0, "new PBKDF2 iteration count (default: keep the current one)")
	c.Flags().BoolVar(&o.RotateKeys, "rotate-keys", false, "make new keys and re-encrypt every entry under them (keeps the passphrase)")
	return c
}

func runPasswd(ctx context.Context, o *PasswdOptions) error {
	loc, err := o.StoreLocation()
	if err != nil {
		return err
	}
	s, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	var pass []byte
	if o.NewPassphraseFile != "" {
		pass, err = term.ReadSecretFile(o.NewPassphraseFile)
	} else {
		pass, err = askSecret(ctx, o.IO.Prompter, "New passphrase for "+loc.String()+": ", true, "passphrase")
		if errors.Is(err, term.ErrNoTerminal) {
			err = usageErrorf("the new passphrase is needed but there is no terminal to ask on: use --new-passphrase-file FILE")
		}
	}
	if err != nil {
		return err
	}
	defer term.Wipe(pass)
	if err := checkNewPassphrase(ctx, o.IO, pass, o.NewPassphraseFile == "", o.AllowWeak, "new passphrase"); err != nil {
		return err
	}
	if err := s.ChangePassphrase(ctx, pass, o.Iterations); err != nil {
		return err
	}
	o.AgentForget(loc)
	fmt.Fprintf(o.IO.ErrOut, "Changed the passphrase of the store at %s.\n", loc)
	return nil
}

// runRotateKeys moves the store to new keys. A migration must change the
// shard files' names (design §8), so it goes to a neighbouring shard count
// with the new keys, then back with them.
func runRotateKeys(ctx context.Context, o *PasswdOptions) error {
	loc, err := o.StoreLocation()
	if err != nil {
		return err
	}
	s, pass, err := o.UnlockStore(ctx)
	if err != nil {
		return err
	}
	defer term.Wipe(pass)
	n := s.Shards()
	via := n + 1
	for via <= format.MaxShards && vault.CheckLayout(n, via) != nil {
		via++
	}
	if via > format.MaxShards {
		via = n - 1
	}
	res, err := s.Migrate(ctx, vault.MigrateOptions{Shards: via, RotateKeys: true, Passphrase: pass, Now: o.Now})
	if err != nil {
		return err
	}
	s2, err := s.Reopen(ctx, pass)
	if err == nil {
		_, err = s2.Migrate(ctx, vault.MigrateOptions{Shards: n, Now: o.Now})
		o.AgentRefresh(ctx, s2.Keys())
	}
	if err != nil {
		return fmt.Errorf("the keys were rotated, but moving the store back from %d to %d shards failed (\"vaultdb reshard %d\" does it): %w", via, n, n, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "Rotated the keys of the store at %s: %d items re-encrypted under new keys. Copies made before (backups, file histories) still open with the old passphrase: delete them.\n", loc, res.Items)
	return nil
}
