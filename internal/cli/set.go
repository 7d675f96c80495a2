package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/passgen"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// SetOptions are the options of "vaultdb set".
type SetOptions struct {
	IO         *term.IOStreams
	Rand       io.Reader
	OpenTask   func(context.Context) (*vault.Task, error)
	CopySecret func(o clipOptions, secret []byte, what string) error
	Path       string
	JSON       bool
	Generate   int // length of a generated password; 0: read the value
	NoSymbols  bool
	Multiline  bool
	Words      int // with Generate: a passphrase of this many words
	Separator  string
	Field      string
	Force      bool
	clipOptions
}

func newSetCmd(f *Factory, runF func(*SetOptions) error) *cobra.Command {
	o := &SetOptions{IO: f.IO, Rand: f.Rand, OpenTask: f.openTask, CopySecret: f.copySecret}
	c := &cobra.Command{
		Use:   "set PATH",
		Short: "Store an entry",
		Long: `Store a value at PATH. On a terminal the value is asked twice without echo
(and replacing an existing entry is confirmed); otherwise it is all of stdin,
less one trailing newline, so multi-line values work. With -m, a terminal
too is read to the end (Ctrl-D), shown as typed, for a value of several
lines. "insert" is another name for set, as in pass.`,
		Example: `  vaultdb set github/password              # asks for the value
  printf '%s' "$TOKEN" | vaultdb set api/token
  vaultdb set --generate github/password   # stores and prints a new password
  vaultdb set --generate 40 -c bank/pin
  vaultdb set --generate 16 --no-symbols wifi/home
  vaultdb set --generate --words 6 disk/luks
  echo '{"user":"me","host":"db.example"}' | vaultdb set --json servers/db
  echo db2.example | vaultdb set servers/db --field host
  vaultdb insert -m notes/wifi              # several lines, end with Ctrl-D`,
		Aliases: []string{"insert"},
		Args:    args(cobra.RangeArgs(1, 2)),
		RunE: func(c *cobra.Command, a []string) error {
			if err := o.clipOptions.check(c); err != nil {
				return err
			}
			gen := c.Flags().Changed("generate")
			if len(a) == 2 {
				// "set --generate 32 x" (the length is not --generate's
				// value, which is optional) or, as pass has it, "x 32".
				n, i, ok := lengthArg(a)
				if !gen || !ok || c.Flags().Lookup("generate").Value.String() != fmt.Sprint(defaultLength) {
					return usageErrorf("set takes one PATH (and with --generate, a length): set [--generate [N]] PATH")
				}
				o.Generate, a = n, []string{a[1-i]}
			}
			o.Path = a[0]
			if gen {
				if o.Generate < 1 || o.Generate > maxLength {
					return usageErrorf("--generate=N needs N between 1 and %d", maxLength)
				}
				if o.JSON {
					return usageErrorf("--generate and --json cannot be used together")
				}
				if c.Flags().Changed("words") {
					if o.Words < 1 || o.Words > maxWords {
						return usageErrorf("--words needs a number from 1 to %d", maxWords)
					}
					if o.NoSymbols || c.Flags().Lookup("generate").Value.String() != fmt.Sprint(defaultLength) {
						return usageErrorf("--words cannot be used with a length or --no-symbols")
					}
				}
				if o.Multiline {
					return usageErrorf("--generate and --multiline cannot be used together")
				}
			} else {
				o.Generate = 0
				for _, f := range []string{"clip", "no-symbols", "words", "separator"} {
					if c.Flags().Changed(f) {
						return usageErrorf("--%s needs --generate", f)
					}
				}
			}
			if runF != nil {
				return runF(o)
			}
			return runSet(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1, false),
	}
	fl := c.Flags()
	fl.BoolVar(&o.JSON, "json", false, "the value is JSON (an object, array, number, ...), not text")
	fl.IntVar(&o.Generate, "generate", defaultLength, "store a new random password of `N` characters and print it")
	fl.Lookup("generate").NoOptDefVal = fmt.Sprint(defaultLength)
	fl.BoolVarP(&o.Multiline, "multiline", "m", false, "on a terminal, read lines (shown as typed) until Ctrl-D")
	fl.BoolVar(&o.NoSymbols, "no-symbols", false, "with --generate: letters and digits only")
	fl.IntVar(&o.Words, "words", 0, "with --generate: a passphrase of `N` words instead")
	fl.StringVar(&o.Separator, "separator", "-", "with --generate --words: what goes between the words")
	fl.StringVar(&o.Field, "field", "", "set only field `NAME` of an object entry, keeping the others")
	fl.BoolVarP(&o.Force, "force", "f", false, "replace an existing entry without asking")
	addClipFlags(c, &o.clipOptions)
	c.Flags().Lookup("clip").Usage = "with --generate: copy the password instead of printing it"
	return c
}

// fieldError is a --field on a value that is not an object.
type fieldError struct{ path, kind string }

func (e *fieldError) Error() string {
	return fmt.Sprintf("%s is %s, not an object, so --field cannot set a field in it; nothing was changed", e.path, e.kind)
}

func runSet(ctx context.Context, o *SetOptions) error {
	p, err := docPath(o.Path)
	if err != nil {
		return err
	}
	t, err := o.OpenTask(ctx)
	if err != nil {
		return err
	}

	err = confirmReplace(ctx, o.IO, t, p, o.Force, func(old json.RawMessage) (string, error) {
		if o.Field == "" {
			return fmt.Sprintf("%s exists. Replace it?", p), nil
		}
		if _, ok, err := entry.GetField(old, o.Field); err != nil {
			return "", &fieldError{p, entry.KindOf(old)}
		} else if ok {
			return fmt.Sprintf("Field %q of %s exists. Replace it?", o.Field, p), nil
		}
		return "", nil
	})
	if err != nil {
		return err
	}
	warnConfusable(ctx, o.IO.ErrOut, t, p)

	var text []byte
	switch {
	case o.Generate > 0 && o.Words > 0:
		text, err = passgen.Words(o.Rand, o.Words, o.Separator)
	case o.Generate > 0:
		text, err = passgen.Chars(o.Rand, o.Generate, !o.NoSymbols)
	case o.IO.InTTY && o.Multiline:
		fmt.Fprintf(o.IO.ErrOut, "Enter the value of %s; end it with Ctrl-D on a line of its own:\n", p)
		text, err = readValue(o.IO.In)
		if err == nil && len(text) == 0 {
			err = errors.New("the value is empty; nothing was changed")
		}
	case o.IO.InTTY:
		text, err = askSecret(ctx, o.IO.Prompter, "Value for "+p+": ", true, "value")
		if errors.Is(err, term.ErrMultiLinePaste) {
			err = fmt.Errorf("%w; to store a value of several lines use \"vaultdb insert -m %s\", \"vaultdb set %s < FILE\" or \"vaultdb edit %s\"", err, p[1:], p[1:], p[1:])
		}
	default:
		text, err = readValue(o.IO.In)
		if err == nil && text == nil {
			// Nothing at all, not even a newline: most likely a writer
			// that failed before writing, not a wish to store "".
			err = usageErrorf(`stdin was empty, so nothing was stored; to store an empty value, send just a newline ("echo | vaultdb set PATH")`)
		}
	}
	if err != nil {
		return err
	}
	defer term.Wipe(text)

	var val json.RawMessage
	if o.JSON {
		val, err = entry.ParseValue(text)
	} else {
		val, err = entry.MarshalText(text)
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	defer term.Wipe(val)
	err = t.Update(ctx, p, func(old json.RawMessage) (json.RawMessage, error) {
		if o.Field == "" {
			return val, nil
		}
		nv, err := entry.SetField(old, o.Field, val)
		if err != nil {
			return nil, &fieldError{p, entry.KindOf(old)}
		}
		return nv, nil
	})
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe
	}
	if err != nil {
		return err
	}
	if o.Generate > 0 {
		if o.Clip {
			return o.CopySecret(o.clipOptions, text, "the new password of "+p)
		}
		_, err = o.IO.Out.Write(append(text, '\n'))
		return err
	}
	return nil
}

// readValue reads all of r and drops one trailing newline. It returns nil
// (not an empty slice) when r held no byte at all.
func readValue(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read the value from stdin: %w", err)
	}
	if len(data) == 0 {
		return nil, nil // nothing at all, not even a newline
	}
	if bytes.HasSuffix(data, []byte("\r\n")) {
		data = data[:len(data)-2]
	} else if bytes.HasSuffix(data, []byte("\n")) {
		data = data[:len(data)-1]
	}
	return data, nil
}

// errNotConfirmed: the user answered no.
var errNotConfirmed = errors.New("not confirmed; nothing was changed")

// confirmReplace asks before a command replaces what is at p, on a
// terminal and unless forced; ask turns the current value into the
// question ("" when there is nothing to confirm).
func confirmReplace(ctx context.Context, io *term.IOStreams, t *vault.Task, p string, force bool, ask func(old json.RawMessage) (string, error)) error {
	if !io.InTTY || force {
		return nil
	}
	old, err := t.Get(ctx, p)
	if errors.Is(err, vault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	q, err := ask(old)
	if err != nil || q == "" {
		return err
	}
	return confirm(ctx, io, q)
}

// confirm asks a yes/no question on the terminal; no is errNotConfirmed.
func confirm(ctx context.Context, io *term.IOStreams, question string) error {
	ok, err := io.Prompter.Confirm(ctx, question)
	if errors.Is(err, term.ErrNoTerminal) {
		return usageErrorf("cannot ask for confirmation without a terminal: use --force")
	}
	if err != nil {
		return err
	}
	if !ok {
		return errNotConfirmed
	}
	return nil
}

// lengthArg finds the one argument of two that is a length (a number) and
// returns it and its index.
func lengthArg(a []string) (n, i int, ok bool) {
	found := -1
	for j, s := range a {
		if _, err := strconv.Atoi(s); err == nil {
			if found >= 0 {
				return 0, 0, false
			}
			found = j
		}
	}
	if found < 0 {
		return 0, 0, false
	}
	n, _ = strconv.Atoi(a[found])
	return n, found, true
}
