package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultdb/vaultdb/adapters/dropbox"
)

// services are the names "vaultdb login" and "vaultdb logout" accept.
var services = []string{"dropbox"}

// authTimeout bounds each request of login and logout.
const authTimeout = 60 * time.Second

// serviceArg checks the one argument of login and logout.
func serviceArg(c *cobra.Command, a []string) error {
	if len(a) != 1 {
		return usageErrorf("name the service: \"%s dropbox\"", c.CommandPath())
	}
	if a[0] != "dropbox" {
		return usageErrorf("unknown service %q: only dropbox is supported", a[0])
	}
	return nil
}

// LoginOptions are the options of "vaultdb login".
type LoginOptions struct {
	*Factory
	AppKey string
}

func newLoginCmd(f *Factory) *cobra.Command {
	o := &LoginOptions{Factory: f}
	c := &cobra.Command{
		Use:   "login dropbox [--app-key KEY]",
		Short: "Sign in to Dropbox, for stores at dropbox:/FOLDER",
		Long: `Sign in to Dropbox so that vaultdb can use stores at dropbox:/FOLDER.

vaultdb prints a Dropbox page to open; allow access there, and paste the
code Dropbox shows. (When stdin is not a terminal, the code is read from
stdin.) The sign-in is saved in $XDG_CONFIG_HOME/vaultdb/dropbox-token.json
(~/.config/vaultdb/dropbox-token.json), mode 0600. It is a bearer secret:
whoever can read the file can read and change your Dropbox files until you
run "vaultdb logout dropbox".

The app key is that of your own Dropbox app (see the README): --app-key,
else $VAULTDB_DROPBOX_APP_KEY. It is saved with the sign-in.`,
		Example: `  vaultdb login dropbox --app-key abcd1234efgh567
  vaultdb --store dropbox:/vaultdb init
  export VAULTDB_STORE=dropbox:/vaultdb`,
		Args:      serviceArg,
		ValidArgs: services,
		RunE: func(c *cobra.Command, _ []string) error {
			return runLogin(c.Context(), o)
		},
	}
	c.Flags().StringVar(&o.AppKey, "app-key", "", "the app key of your Dropbox app (default $VAULTDB_DROPBOX_APP_KEY)")
	return c
}

func runLogin(ctx context.Context, o *LoginOptions) error {
	key := strings.TrimSpace(o.AppKey)
	if key == "" {
		key = strings.TrimSpace(o.getenv(envDropboxAppKey))
	}
	if key == "" {
		return usageErrorf("no Dropbox app key: create a Dropbox app (see the README), then run \"vaultdb login dropbox --app-key KEY\" or set %s", envDropboxAppKey)
	}
	ep, err := o.dropboxEndpoints()
	if err != nil {
		return err
	}
	path, err := o.dropboxTokenPath()
	if err != nil {
		return err
	}
	login := dropbox.AuthConfig{AppKey: key, AuthURL: ep.Auth, TokenURL: ep.Token, APIBase: ep.API}.StartLogin()
	fmt.Fprintf(o.IO.ErrOut, "Open this page, sign in to Dropbox and allow vaultdb access:\n\n  %s\n\nThen paste the code Dropbox shows.\n", login.URL)
	code, err := o.readCode(ctx)
	if err != nil {
		return err
	}
	xctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	tok, err := login.Exchange(xctx, code)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("signing in to Dropbox failed: %w", err)
	}
	if err := dropbox.SaveToken(path, &dropbox.TokenFile{AppKey: key, Token: tok}); err != nil {
		return fmt.Errorf("signed in, but cannot save the sign-in to %s: %w", path, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "Signed in to Dropbox. The sign-in is saved in %s (mode 0600).\n"+
		"It is a secret: whoever can read that file can use your Dropbox until you run \"vaultdb logout dropbox\".\n"+
		"Use a store in Dropbox with --store dropbox:/vaultdb or %s=dropbox:/vaultdb.\n", path, envStore)
	return nil
}

// lineReader is a Prompter that can also read a line with echo, for input
// that is not a secret.
type lineReader interface {
	Line(ctx context.Context, prompt string) (string, error)
}

// readCode reads the authorisation code: from stdin when it is not a
// terminal, otherwise on the terminal.
func (f *Factory) readCode(ctx context.Context) (string, error) {
	const prompt = "Code: "
	var code string
	var err error
	switch lr, ok := f.IO.Prompter.(lineReader); {
	case !f.IO.InTTY:
		code, err = readLine(ctx, f.IO.In)
	case ok:
		code, err = lr.Line(ctx, prompt)
	default:
		var b []byte
		b, err = f.IO.Prompter.Secret(ctx, prompt)
		code = string(b)
	}
	if errors.Is(err, errNoTerminal) {
		return "", usageErrorf("no terminal to paste the code on: pipe it to stdin")
	}
	if err != nil {
		return "", err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", usageErrorf("no code was given: open the page, allow access, and paste the code Dropbox shows")
	}
	return code, nil
}

// readLine reads one line (at most 4 KiB) from r, or returns when ctx is
// done.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
		ch <- result{s, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return "", fmt.Errorf("cannot read the code from stdin: %w", res.err)
		}
		return res.s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Line reads a line on the terminal, with echo.
func (ttyPrompter) Line(ctx context.Context, prompt string) (string, error) {
	tty, err := openTTY()
	if err != nil {
		return "", err
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	s, err := readLine(ctx, tty)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(tty)
	}
	return s, err
}

// LogoutOptions are the options of "vaultdb logout".
type LogoutOptions struct {
	*Factory
}

func newLogoutCmd(f *Factory) *cobra.Command {
	o := &LogoutOptions{Factory: f}
	return &cobra.Command{
		Use:   "logout dropbox",
		Short: "Sign out of Dropbox and delete the saved sign-in",
		Long: `Revoke vaultdb's Dropbox sign-in at Dropbox and delete the token file.
If Dropbox cannot be reached, the file is deleted anyway; then remove
vaultdb's access in Dropbox's account settings (Connected apps).`,
		Example:   `  vaultdb logout dropbox`,
		Args:      serviceArg,
		ValidArgs: services,
		RunE: func(c *cobra.Command, _ []string) error {
			return runLogout(c.Context(), o)
		},
	}
}

func runLogout(ctx context.Context, o *LogoutOptions) error {
	path, err := o.dropboxTokenPath()
	if err != nil {
		return err
	}
	tf, err := dropbox.LoadToken(path)
	if errors.Is(err, dropbox.ErrNoToken) {
		// An empty file still goes.
		if err := dropbox.RemoveToken(path); err != nil {
			return fmt.Errorf("cannot delete %s: %w", path, err)
		}
		fmt.Fprintf(o.IO.ErrOut, "Not signed in to Dropbox (no sign-in in %s); nothing to do.\n", path)
		return nil
	}
	var revokeErr error
	if err != nil {
		revokeErr = fmt.Errorf("cannot read the sign-in to revoke it: %w", err)
	} else {
		ep, err := o.dropboxEndpoints()
		if err != nil {
			return err
		}
		appKey := tf.AppKey
		if appKey == "" {
			appKey = o.getenv(envDropboxAppKey)
		}
		rctx, cancel := context.WithTimeout(ctx, authTimeout)
		revokeErr = dropbox.AuthConfig{AppKey: appKey, TokenURL: ep.Token, APIBase: ep.API}.Revoke(rctx, tf.Token)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := dropbox.RemoveToken(path); err != nil {
		return fmt.Errorf("cannot delete the Dropbox sign-in %s: %w", path, err)
	}
	if revokeErr != nil {
		msg := revokeErr.Error()
		if !strings.Contains(msg, "Connected apps") {
			msg += "; remove vaultdb's access in Dropbox's account settings (Connected apps)"
		}
		fmt.Fprintf(o.IO.ErrOut, "warning: the sign-in was not revoked at Dropbox: %s\n", msg)
		fmt.Fprintf(o.IO.ErrOut, "Deleted the local sign-in %s anyway.\n", path)
		return nil
	}
	fmt.Fprintf(o.IO.ErrOut, "Signed out of Dropbox: revoked the sign-in and deleted %s.\n", path)
	return nil
}
