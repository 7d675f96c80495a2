package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault/format"
)

// PasswdOptions are the options of "vaultdb passwd".
type PasswdOptions struct {
	*Factory
	NewPassphraseFile string
	Iterations        int
	RotateKeys        bool
	AllowWeak         bool
}

func newPasswdCmd(f *Factory) *cobra.Command {
	o := &PasswdOptions{Factory: f}
	c := &cobra.Command{
		Use:   "passwd",
		Short: "Change the store's passphrase",
		Long: `Change the passphrase: the store's keys are wrapped again under the new
passphrase; no entry is rewritten. The new passphrase is asked twice on the
terminal, or read from --new-passphrase-file.

The keys themselves do not change: whoever has the old passphrase and a copy
of the old config (a backup, Dropbox's version history) can still decrypt
the whole store, entries written after the change included. If both may
have leaked, make a new store and move the entries to it
("vaultdb export | vaultdb --store NEW import"), then delete the old store
and its copies. Rotating the keys in place (--rotate-keys) is not
implemented.`,
		Example: `  vaultdb passwd
  vaultdb passwd --passphrase-file old.txt --new-passphrase-file new.txt`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if o.RotateKeys {
				return usageErrorf("--rotate-keys is not implemented: a store's keys never change, so an old passphrase with an old config still opens it; make a new store and move the entries (vaultdb export | vaultdb --store NEW import), then delete the old store and its copies")
			}
			if o.Iterations < 0 || o.Iterations > format.MaxIterations {
				return usageErrorf("--iterations must be from 1 to %d", format.MaxIterations)
			}
			return runPasswd(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.AllowWeak, "allow-weak-passphrase", false, "do not ask to confirm a passphrase estimated weak")
	c.Flags().StringVar(&o.NewPassphraseFile, "new-passphrase-file", "", "read the new passphrase from the first line of `FILE`")
	c.Flags().IntVar(&o.Iterations, "iterations", 0, "new PBKDF2 iteration count (default: keep the current one)")
	c.Flags().BoolVar(&o.RotateKeys, "rotate-keys", false, "new keys, every entry re-encrypted: NOT IMPLEMENTED (see above)")
	return c
}

func runPasswd(ctx context.Context, o *PasswdOptions) error {
	loc, err := o.storeLocation()
	if err != nil {
		return err
	}
	// The current passphrase even when the agent holds the keys: whoever
	// may use the agent must not be able to lock the owner out.
	o.passphraseOnly = true
	s, err := o.openStore(ctx)
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
	o.agentForget(loc)
	fmt.Fprintf(o.IO.ErrOut, "Changed the passphrase of the store at %s.\n", loc)
	return nil
}
