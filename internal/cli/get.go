package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/entry"
	"github.com/vaultdb/vaultdb/internal/otp"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// GetOptions are the options of "vaultdb get".
type GetOptions struct {
	ReadTask   func(ctx context.Context, read func(*vault.Task) error) error
	IO         *term.IOStreams
	CopySecret func(o clipOptions, secret []byte, what string) error
	Path       string
	Field      string
	JSON       bool
	NoNewline  bool
	clipOptions
}

func newGetCmd(f *Factory, runF func(*GetOptions) error) *cobra.Command {
	o := &GetOptions{ReadTask: f.readTask, IO: f.IO, CopySecret: f.copySecret}
	c := &cobra.Command{
		Use:   "get PATH",
		Short: "Print an entry, or copy it to the clipboard",
		Long: `Print the entry at PATH. A string prints as it is, with one newline (so
$(vaultdb get PATH) is the secret); other values print as indented JSON.
With -c, an object's field "password" is copied (as "pass show -c" copies
the first line), never the whole object; --field chooses another field.
Do not put the secret in another program's arguments (every user sees them
in ps): pipe it, as below, or for git use "vaultdb git-credential".`,
		Example: `  vaultdb get github/password
  vaultdb get -c github/password          # copy; cleared after 45s
  vaultdb get servers/db --field host
  vaultdb get api/token | sed 's/^/Authorization: Bearer /' | curl -H @- https://example.com`,
		Aliases: []string{"show"},
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			o.Path = a[0]
			if err := o.clipOptions.check(c); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runGet(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1, false),
	}
	fl := c.Flags()
	fl.StringVar(&o.Field, "field", "", "print only field `NAME` of an object entry")
	fl.BoolVar(&o.JSON, "json", false, "print the value as JSON, strings included")
	fl.BoolVarP(&o.NoNewline, "no-newline", "n", false, "do not print a newline after the value")
	addClipFlags(c, &o.clipOptions)
	return c
}

func runGet(ctx context.Context, o *GetOptions) error {
	p, err := docPath(o.Path)
	if err != nil {
		return err
	}
	var v []byte
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		var err error
		v, err = t.Get(ctx, p)
		if errors.Is(err, vault.ErrNotFound) {
			return notFoundHint(ctx, t, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	what := p
	if o.Field != "" {
		fv, ok, err := entry.GetField(v, o.Field)
		if err != nil {
			return fmt.Errorf("%s is %s, not an object, so it has no fields; drop --field", p, entry.KindOf(v))
		}
		if !ok {
			return notFoundf("%s has no field %q", p, o.Field)
		}
		v, what = fv, fmt.Sprintf("field %q of %s", o.Field, p)
	}
	if o.Clip && o.Field == "" {
		// An object's password, never the whole object: the rule the web
		// page's Copy follows too.
		fv, field, err := entry.CopyValue(v)
		switch {
		case errors.Is(err, entry.ErrNoPassword):
			return clipFieldError(p, v)
		case err != nil:
			return fmt.Errorf("the value of %s is damaged: %w", p, vault.ErrCorrupt)
		}
		if field != "" {
			what = fmt.Sprintf("field %q of %s", field, p)
		}
		v = fv
	}
	var out []byte
	if o.JSON {
		out, err = entry.Indent(v)
	} else {
		out, err = entry.Text(v)
	}
	if err != nil {
		return fmt.Errorf("the value of %s is damaged: %w", p, vault.ErrCorrupt)
	}
	defer term.Wipe(out)
	if o.Clip {
		return o.CopySecret(o.clipOptions, out, what)
	}
	if !o.NoNewline {
		out = append(out, '\n')
	}
	_, err = o.IO.Out.Write(out)
	return err
}

// notFoundHint is the error for a missing entry p: it says whether p/ is
// a directory, and how to list what there is.
func notFoundHint(ctx context.Context, t *vault.Task, p string) error {
	if names, err := t.List(ctx, p+"/"); err == nil && len(names) > 0 {
		return hintf(&vault.NotFoundError{Path: p}, "%s: no such entry, but %s/ is a directory: list it with \"vaultdb ls %s/\"", p, p, p[1:])
	}
	return hintf(&vault.NotFoundError{Path: p}, "%s: no such entry (see \"vaultdb ls -r\" for what there is)", p)
}

// clipFieldError says which --field to copy from object v, which has no
// password field.
func clipFieldError(p string, v []byte) error {
	if _, err := otp.ParseDocument(v); !errors.Is(err, otp.ErrNotDocument) {
		return usageErrorf("%s is a TOTP entry: copy its code with \"vaultdb totp -c %s\"", p, p[1:])
	}
	names := entry.Fields(v)
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	return usageErrorf("%s is an object without a \"password\" field, and -c copies one value: choose it with --field NAME (its fields: %s)", p, strings.Join(names, ", "))
}
