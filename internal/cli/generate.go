package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/passgen"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/internal/words"
)

const (
	defaultLength = 25
	maxLength     = 1024
	maxWords      = 64
)

// GenerateOptions are the options of "vaultdb generate".
type GenerateOptions struct {
	IO         *term.IOStreams
	Rand       io.Reader
	CopySecret func(o clipOptions, secret []byte, what string) error
	Length     int
	NoSymbols  bool
	Words      int
	Separator  string
	clipOptions
}

func newGenerateCmd(f *Factory, runF func(*GenerateOptions) error) *cobra.Command {
	o := &GenerateOptions{IO: f.IO, Rand: f.Rand, CopySecret: f.copySecret}
	c := &cobra.Command{
		Use:   "generate [N]",
		Short: "Print a random password or passphrase",
		Long: fmt.Sprintf(`Print a random password of N characters (default %d): letters, digits and
punctuation, each chosen uniformly with the system's secure random source.
With --words, print a passphrase of that many words from an embedded list of
%d English words (about 15 bits each). Nothing is stored; see "set --generate".`, defaultLength, words.Len()),
		Example: `  vaultdb generate
  vaultdb generate 16 --no-symbols
  vaultdb generate --words 6
  vaultdb generate -c`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Length = defaultLength
			if len(a) == 1 {
				n, err := strconv.Atoi(a[0])
				if err != nil || n < 1 || n > maxLength {
					return usageErrorf("the length must be a number from 1 to %d, not %q", maxLength, a[0])
				}
				o.Length = n
			}
			if c.Flags().Changed("words") {
				if o.Words < 1 || o.Words > maxWords {
					return usageErrorf("--words needs a number from 1 to %d", maxWords)
				}
				if len(a) == 1 || o.NoSymbols {
					return usageErrorf("--words cannot be used with a length or --no-symbols")
				}
			}
			if err := o.clipOptions.check(c); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runGenerate(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&o.NoSymbols, "no-symbols", false, "letters and digits only")
	fl.IntVar(&o.Words, "words", 0, "a passphrase of `N` words instead")
	fl.StringVar(&o.Separator, "separator", "-", "what goes between --words")
	addClipFlags(c, &o.clipOptions)
	return c
}

func runGenerate(_ context.Context, o *GenerateOptions) error {
	var (
		pw  []byte
		err error
	)
	if o.Words > 0 {
		pw, err = passgen.Words(o.Rand, o.Words, o.Separator)
	} else {
		pw, err = passgen.Chars(o.Rand, o.Length, !o.NoSymbols)
	}
	if err != nil {
		return err
	}
	defer term.Wipe(pw)
	if o.Clip {
		return o.CopySecret(o.clipOptions, pw, "the password")
	}
	_, err = o.IO.Out.Write(append(pw, '\n'))
	return err
}

// cryptoRand reads from crypto/rand.
type cryptoRand struct{}

func (cryptoRand) Read(b []byte) (int, error) { return rand.Read(b) }
