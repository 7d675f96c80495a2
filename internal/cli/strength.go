package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/vaultdb/vaultdb/internal/strength"
	"github.com/vaultdb/vaultdb/internal/term"
)

// checkNewPassphrase estimates the strength of a new passphrase (see
// internal/strength) and, if it is weak, warns on stderr. A passphrase
// typed at a prompt must then be confirmed; one from a file or the
// environment only gets the warning, so that scripts go on. what is
// "passphrase" or "new passphrase".
func checkNewPassphrase(ctx context.Context, ios *term.IOStreams, pass []byte, prompted, allowWeak bool, what string) error {
	bits := strength.Bits(string(pass))
	if bits >= strength.MinBits {
		return nil
	}
	fmt.Fprintf(ios.ErrOut, "warning: the %s is weak (about %.0f bits, the minimum is %d): anyone with a copy of the store can try guesses offline; 5 random words are strong (\"vaultdb generate --words 5\")\n",
		what, bits, strength.MinBits)
	if !prompted || allowWeak {
		return nil
	}
	ok, err := ios.Prompter.Confirm(ctx, "Use this weak passphrase anyway?")
	if err != nil {
		return err
	}
	if !ok {
		return errWeakPassphrase
	}
	return nil
}

var errWeakPassphrase = errors.New("the passphrase is weak and was not confirmed; nothing was changed: choose a longer one, such as \"vaultdb generate --words 5\" prints (or use --allow-weak-passphrase)")
