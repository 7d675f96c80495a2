package cli

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/words"
)

const (
	defaultLength = 25
	maxLength     = 1024
	maxWords      = 64
)

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// GenerateOptions are the options of "vaultdb generate".
type GenerateOptions struct {
	*Factory
	Length    int
	NoSymbols bool
	Words     int
	Separator string
	clipOptions
}

func newGenerateCmd(f *Factory) *cobra.Command {
	o := &GenerateOptions{Factory: f}
	c := &cobra.Command{
		Use:   "generate [N]",
		Short: "Print a random password or passphrase",
		Long: fmt.Sprintf(`Print a random password of N characters (default %d): letters, digits and
punctuation, each chosen uniformly with the system's secure random source.
With --words, print a passphrase of that many words from an embedded list of
%d English words (about 15 bits each). Nothing is stored; see "set --generate".`, defaultLength, len(words.List())),
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
		pw, err = generateWords(o.Rand, o.Words, o.Separator)
	} else {
		pw, err = generateChars(o.Rand, o.Length, !o.NoSymbols)
	}
	if err != nil {
		return err
	}
	defer wipe(pw)
	if o.Clip {
		return copySecret(o.Factory, o.clipOptions, pw, "the password")
	}
	_, err = o.IO.Out.Write(append(pw, '\n'))
	return err
}

// generateChars returns n characters chosen uniformly from the alphabet.
func generateChars(r io.Reader, n int, withSymbols bool) ([]byte, error) {
	set := alnum
	if withSymbols {
		set += symbols
	}
	out := make([]byte, n)
	for i := range out {
		k, err := uniform(r, len(set))
		if err != nil {
			return nil, err
		}
		out[i] = set[k]
	}
	return out, nil
}

// generateWords returns n words chosen uniformly from the word list.
func generateWords(r io.Reader, n int, sep string) ([]byte, error) {
	list := words.List()
	chosen := make([]string, n)
	for i := range chosen {
		k, err := uniform(r, len(list))
		if err != nil {
			return nil, err
		}
		chosen[i] = list[k]
	}
	return []byte(strings.Join(chosen, sep)), nil
}

// uniform returns a uniformly distributed number in [0, n), 0 < n < 2^32,
// by rejection sampling: 32-bit values at or above the largest multiple of
// n are drawn again, so that no remainder is more likely than another.
func uniform(r io.Reader, n int) (int, error) {
	limit := (1 << 32) / uint64(n) * uint64(n)
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("no random numbers: %w", err)
		}
		v := uint64(binary.BigEndian.Uint32(b[:]))
		if v < limit {
			return int(v % uint64(n)), nil
		}
	}
}

// cryptoRand reads from crypto/rand.
type cryptoRand struct{}

func (cryptoRand) Read(b []byte) (int, error) { return rand.Read(b) }
