package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/otp"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// TotpOptions are the options of "vaultdb totp [PATH|DIR/]".
type TotpOptions struct {
	IO         *term.IOStreams
	Now        func() time.Time
	ReadTask   func(ctx context.Context, read func(*vault.Task) error) error
	CopySecret func(o clipOptions, secret []byte, what string) error
	Path       string    // an entry, a directory (DIR/), or "" for the whole store
	Time       string    // --time: RFC 3339 or Unix seconds; "" is now
	At         time.Time // --time as parsed; zero is now
	clipOptions
}

// TotpAddOptions are the options of "vaultdb totp add".
type TotpAddOptions struct {
	IO       *term.IOStreams
	OpenTask func(context.Context) (*vault.Task, error)
	Path     string
	Force    bool
}

// TotpURIOptions are the options of "vaultdb totp uri".
type TotpURIOptions struct {
	IO        *term.IOStreams
	OpenStore func(context.Context) (*vault.Store, error)
	Path      string
}

func newTotpCmd(f *Factory, runF func(*TotpOptions) error) *cobra.Command {
	o := &TotpOptions{IO: f.IO, Now: f.Now, ReadTask: f.readTask, CopySecret: f.copySecret}
	c := &cobra.Command{
		Use:   "totp [PATH | DIR/]",
		Short: "Print one-time codes (TOTP) for two-factor authentication",
		Long: `Print the current one-time code of the TOTP entry at PATH (RFC 6238), or
with a directory (DIR/, or nothing for the whole store) the code of every
TOTP entry below it, with the seconds each has left. On a terminal the
seconds left go to stderr; in a pipe only the code is printed, and a
directory prints "path<TAB>code<TAB>seconds" lines. A TOTP entry is one
that "totp add" stored, or any object whose field "totp" holds an
otpauth:// URI or a base32 secret (as "import" makes from pass and CSV).

Store a secret with "vaultdb totp add PATH", which reads an otpauth:// URI
or a base32 secret from a hidden prompt or from stdin (never from the
command line). "vaultdb totp uri PATH" prints the otpauth:// URI back, to
move the secret to another device.

An entry named "add" or "uri" at the top is written "/add" or "/uri".`,
		Example: `  vaultdb totp add github/totp            # paste the otpauth:// URI
  vaultdb totp github/totp
  vaultdb totp -c github/totp             # copy; cleared after 45s
  vaultdb totp                            # every code in the store
  vaultdb totp work/
  vaultdb totp github/totp --time 2025-01-02T15:04:05Z
  vaultdb totp uri github/totp`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if err := noSecretArgs(a); err != nil {
				return err
			}
			if len(a) == 1 {
				o.Path = a[0]
			}
			if err := o.clipOptions.check(c); err != nil {
				return err
			}
			if o.Time != "" {
				var err error
				if o.At, err = parseTime(o.Time); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(o)
			}
			return runTotp(c.Context(), o)
		},
		ValidArgsFunction: completePaths(f, 1, false),
	}
	c.Flags().StringVar(&o.Time, "time", "", "compute the code at `TIME` (RFC 3339 or Unix seconds) instead of now")
	addClipFlags(c, &o.clipOptions)
	c.Flags().Lookup("clip").Usage = "copy the code to the clipboard instead of printing it"
	c.AddCommand(newTotpAddCmd(f, nil), newTotpURICmd(f, nil))
	return c
}

func newTotpAddCmd(f *Factory, runF func(*TotpAddOptions) error) *cobra.Command {
	o := &TotpAddOptions{IO: f.IO, OpenTask: f.openTask}
	c := &cobra.Command{
		Use:   "add PATH",
		Short: "Store a TOTP secret from an otpauth:// URI or a base32 secret",
		Long: `Store a TOTP secret at PATH. On a terminal it is asked without echo (and
replacing an existing entry is confirmed); otherwise it is read from stdin.
It is an otpauth://totp/... URI, as authenticator apps and sites export it
(issuer, account, algorithm SHA1/SHA256/SHA512, 6 to 10 digits, period), or
a bare base32 secret (lower case, spaces and missing padding are fine) for
the usual SHA1, 6 digits, 30 seconds. HOTP (counter-based) keys are not
supported. The secret is never accepted on the command line.`,
		Example: `  vaultdb totp add github/totp
  printf '%s\n' "$URI" | vaultdb totp add github/totp
  vaultdb totp add aws/totp < secret.txt`,
		Args: func(c *cobra.Command, a []string) error {
			if err := noSecretArgs(a); err != nil {
				return err
			}
			switch {
			case len(a) == 0:
				return usageErrorf("give the PATH of the entry to store the secret in")
			case len(a) > 1:
				return usageErrorf("totp add takes only a PATH: the secret is never accepted as an argument (it would show in ps and in the shell history); paste it at the prompt or pipe it on stdin")
			}
			return nil
		},
		RunE: func(c *cobra.Command, a []string) error {
			o.Path = a[0]
			if runF != nil {
				return runF(o)
			}
			return runTotpAdd(c.Context(), o)
		},
	}
	c.Flags().BoolVarP(&o.Force, "force", "f", false, "replace an existing entry without asking")
	return c
}

func newTotpURICmd(f *Factory, runF func(*TotpURIOptions) error) *cobra.Command {
	o := &TotpURIOptions{IO: f.IO, OpenStore: f.openStore}
	return &cobra.Command{
		Use:   "uri PATH",
		Short: "Print the otpauth:// URI of a TOTP entry (it holds the secret)",
		Long: `Print the otpauth://totp/ URI of the TOTP entry at PATH, to move the secret
to another device (for example with "qrencode -t ansiutf8"). The URI holds
the secret. So does the entry itself: "get", "export" and "edit" show it
whole, secret included (and "get -c" copies a TOTP entry only with --field).`,
		Example: `  vaultdb totp uri github/totp
  vaultdb totp uri github/totp | qrencode -t ansiutf8`,
		Args: func(c *cobra.Command, a []string) error {
			if err := noSecretArgs(a); err != nil {
				return err
			}
			return args(cobra.ExactArgs(1))(c, a)
		},
		RunE: func(c *cobra.Command, a []string) error {
			o.Path = a[0]
			if runF != nil {
				return runF(o)
			}
			return runTotpURI(c.Context(), o)
		},
	}
}

// noSecretArgs refuses an otpauth:// URI given as an argument, without
// repeating it.
func noSecretArgs(a []string) error {
	for _, s := range a {
		if otp.IsURI(s) {
			return usageErrorf("an otpauth:// URI is never accepted as an argument (it would show in ps and in the shell history): pipe it to \"vaultdb totp add PATH\" or paste it at its prompt")
		}
	}
	return nil
}

// parseTime reads --time: Unix seconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	var t time.Time
	if u, err := strconv.ParseInt(s, 10, 64); err == nil {
		t = time.Unix(u, 0)
	} else if t, err = time.Parse(time.RFC3339, s); err != nil {
		return time.Time{}, usageErrorf("--time %q is neither an RFC 3339 time (such as 2025-01-02T15:04:05Z) nor a number of Unix seconds", s)
	}
	if t.Unix() < 0 {
		return time.Time{}, usageErrorf("--time %q is before 1970-01-01T00:00:00Z, where TOTP counting starts", s)
	}
	return t, nil
}

// totpEntry reads the TOTP entry at p, with errors that say what to do.
func totpEntry(ctx context.Context, t *vault.Task, p string) (otp.Key, error) {
	v, err := t.Get(ctx, p)
	if errors.Is(err, vault.ErrNotFound) {
		return otp.Key{}, notFoundHint(ctx, t, p)
	}
	if err != nil {
		return otp.Key{}, err
	}
	return totpKey(p, v)
}

func totpKey(p string, v []byte) (otp.Key, error) {
	k, err := otp.FromDocument(v)
	if errors.Is(err, otp.ErrNotDocument) {
		return otp.Key{}, fmt.Errorf("%s is not a TOTP entry (it has neither \"type\": \"totp\" nor a field \"totp\"); store a secret with \"vaultdb totp add %s\"", p, p[1:])
	}
	if err != nil {
		return otp.Key{}, fmt.Errorf("%s is a damaged TOTP entry: %w", p, err)
	}
	return k, nil
}

func runTotp(ctx context.Context, o *TotpOptions) error {
	at := o.At
	if at.IsZero() {
		at = o.Now()
	}
	var doc, dir string
	var err error
	if o.Path == "" || strings.HasSuffix(o.Path, "/") {
		dir, err = dirPath(o.Path)
	} else {
		doc, err = docPath(o.Path)
	}
	if err != nil {
		return err
	}
	if dir != "" && o.Clip {
		return usageErrorf("--clip copies the code of one entry, and %s is a directory", dir)
	}
	// The code is printed after every read succeeded, so a retry with
	// the store's current keys (readTask) prints it once.
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		if dir != "" {
			return totpDir(ctx, o, t, dir, at)
		}

		v, err := t.Get(ctx, doc)
		if errors.Is(err, vault.ErrNotFound) {
			// "totp work" for the directory work/, like ls.
			if names, lerr := t.List(ctx, doc+"/"); lerr == nil && len(names) > 0 && !o.Clip {
				return totpDir(ctx, o, t, doc+"/", at)
			}
			return notFoundHint(ctx, t, doc)
		}
		if err != nil {
			return err
		}
		k, err := totpKey(doc, v)
		if err != nil {
			return err
		}
		code, err := k.Code(at)
		if err != nil {
			return fmt.Errorf("%s: %w", doc, err)
		}
		left := k.Remaining(at)
		if o.Clip {
			if err := o.CopySecret(o.clipOptions, []byte(code), "the code of "+doc); err != nil {
				return err
			}
			if o.IO.ErrTTY {
				fmt.Fprintf(o.IO.ErrOut, "The code changes in %ds.\n", left)
			}
			return nil
		}
		if _, err := fmt.Fprintln(o.IO.Out, code); err != nil {
			return err
		}
		if o.IO.OutTTY && o.IO.ErrTTY {
			fmt.Fprintf(o.IO.ErrOut, "%ds left\n", left)
		}
		return nil
	})
	if errors.Is(err, errEmptyStore) {
		noTOTP(o, "/")
		return nil
	}
	return err
}

// noTOTP tells a terminal that dir holds no TOTP entry.
func noTOTP(o *TotpOptions, dir string) {
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "No TOTP entries in %s (add one with \"vaultdb totp add PATH\").\n", dir)
	}
}

// totpRow is one line of the directory view.
type totpRow struct {
	path, code string
	left       int
	skip       bool  // not a TOTP entry, or gone
	bad        error // a damaged TOTP entry
}

// totpDir prints the code of every TOTP entry below dir. It runs in one
// task: one Find, then one Get per entry, all issued at once, so that the
// shards they need are read in parallel and each at most once.
func totpDir(ctx context.Context, o *TotpOptions, t *vault.Task, dir string, at time.Time) error {
	docs, err := t.Find(ctx, dir)
	if err != nil {
		return err
	}
	if len(docs) == 0 && dir != "/" {
		return notFoundf("%s: no such directory (see \"vaultdb ls\")", dir)
	}
	if len(docs) == 0 {
		// Let readTask check that the agent's keys are this store's.
		return errEmptyStore
	}
	rows := make([]totpRow, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	for i, p := range docs {
		wg.Go(func() {
			r := &rows[i]
			r.path = p
			v, err := t.Get(ctx, p)
			switch {
			case errors.Is(err, vault.ErrNotFound): // removed meanwhile
				r.skip = true
				return
			case err != nil:
				errs[i] = err
				return
			}
			k, err := otp.FromDocument(v)
			switch {
			case errors.Is(err, otp.ErrNotDocument):
				r.skip = true
				return
			case err != nil:
				r.bad = err
				return
			}
			if r.code, err = k.Code(at); err != nil {
				r.bad = err
				return
			}
			r.left = k.Remaining(at)
		})
	}
	wg.Wait()
	if err := firstError(errs...); err != nil {
		return err
	}

	var b strings.Builder
	tty := o.IO.OutTTY
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	shown, bad := 0, 0
	for _, r := range rows {
		switch {
		case r.skip:
			continue
		case r.bad != nil:
			bad++
			fmt.Fprintf(o.IO.ErrOut, "vaultdb: %s is a damaged TOTP entry: %s\n", term.Printable(r.path), term.Printable(r.bad.Error()))
			continue
		}
		shown++
		if tty {
			fmt.Fprintf(tw, "%s\t%s\t%ds\n", term.Printable(r.path), r.code, r.left)
		} else {
			fmt.Fprintf(&b, "%s\t%s\t%d\n", r.path, r.code, r.left)
		}
	}
	tw.Flush()
	if _, err := o.IO.Out.Write([]byte(b.String())); err != nil {
		return err
	}
	if shown == 0 && bad == 0 {
		noTOTP(o, dir)
	}
	if bad > 0 {
		return fmt.Errorf("%s below %s (listed above)", plural(bad, "damaged TOTP entry", "damaged TOTP entries"), dir)
	}
	return nil
}

func runTotpAdd(ctx context.Context, o *TotpAddOptions) error {
	p, err := docPath(o.Path)
	if err != nil {
		return err
	}
	t, err := o.OpenTask(ctx)
	if err != nil {
		return err
	}

	err = confirmReplace(ctx, o.IO, t, p, o.Force, func(old json.RawMessage) (string, error) {
		what := "an entry"
		if _, err := otp.ParseDocument(old); !errors.Is(err, otp.ErrNotDocument) {
			what = "a TOTP entry"
		}
		return fmt.Sprintf("%s is already %s. Replace it?", p, what), nil
	})
	if err != nil {
		return err
	}

	var in []byte
	if o.IO.InTTY {
		in, err = askSecret(ctx, o.IO.Prompter, "otpauth:// URI or base32 secret for "+p+": ", false, "secret")
		if errors.Is(err, term.ErrNoTerminal) {
			return usageErrorf("there is no terminal to ask for the secret on: pipe it on stdin")
		}
	} else {
		in, err = readValue(o.IO.In)
	}
	if err != nil {
		return err
	}
	defer term.Wipe(in)
	text := strings.TrimSpace(string(in))
	var k otp.Key
	switch {
	case text == "":
		return errors.New("no otpauth:// URI or secret was given on stdin; nothing was changed")
	case otp.IsURI(text):
		if strings.ContainsAny(text, "\r\n") {
			return errors.New("expected one otpauth:// URI, but the input has several lines; nothing was changed")
		}
		k, err = otp.ParseURI(text)
	default:
		k, err = otp.NewKey(text)
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	val, err := otp.Document(k)
	if err != nil {
		return err
	}
	defer term.Wipe(val)
	if err := t.Set(ctx, p, val); err != nil {
		return err
	}
	if o.IO.ErrTTY {
		fmt.Fprintf(o.IO.ErrOut, "Stored a TOTP secret%s at %s (%s, %d digits, every %ds).\n",
			describeKey(k), p, k.Algorithm, k.Digits, k.Period)
	}
	return nil
}

// describeKey names the issuer and account of k, if any, for messages.
func describeKey(k otp.Key) string {
	switch {
	case k.Issuer != "" && k.Account != "":
		return fmt.Sprintf(" for %s (%s)", k.Issuer, k.Account)
	case k.Issuer != "":
		return " for " + k.Issuer
	case k.Account != "":
		return " for " + k.Account
	}
	return ""
}

func runTotpURI(ctx context.Context, o *TotpURIOptions) error {
	p, err := docPath(o.Path)
	if err != nil {
		return err
	}
	s, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	k, err := totpEntry(ctx, s.NewTask(ctx), p)
	if err != nil {
		return err
	}
	if k.Account == "" {
		// Apps need a label: name the account after the entry.
		k.Account = p[1:]
	}
	uri := []byte(k.URI() + "\n")
	defer term.Wipe(uri)
	_, err = o.IO.Out.Write(uri)
	return err
}
