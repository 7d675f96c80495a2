package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultdb/vaultdb/internal/location"
	"github.com/vaultdb/vaultdb/internal/term"
)

// services are the kinds of store that have a sign-in: what "vaultdb
// login" and "vaultdb logout" accept.
func (f *Factory) services() []*location.Scheme {
	var s []*location.Scheme
	for _, sc := range f.locations().Schemes() {
		if sc.Login != nil {
			s = append(s, sc)
		}
	}
	return s
}

func (f *Factory) serviceNames() []string {
	var n []string
	for _, s := range f.services() {
		n = append(n, s.Name)
	}
	return n
}

// service finds the scheme named by the first argument of login and
// logout.
func (f *Factory) service(c *cobra.Command, a []string) (*location.Scheme, error) {
	names := f.serviceNames()
	if len(a) == 0 {
		return nil, usageErrorf("name the service: \"%s %s\"", c.CommandPath(), strings.Join(names, "\" or \""+c.CommandPath()+" "))
	}
	sc := f.locations().Lookup(a[0])
	if sc == nil || sc.Login == nil {
		return nil, usageErrorf("unknown service %q: the services are %s", a[0], strings.Join(names, ", "))
	}
	return sc, nil
}

// LoginOptions are the options of "vaultdb login".
type LoginOptions struct {
	LocationEnv func() *location.Env
	Service     *location.Scheme
	Args        []string // after the service's name
	AppKey      string
}

func newLoginCmd(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	o := &LoginOptions{LocationEnv: f.locationEnv}
	c := &cobra.Command{
		Use:   "login SERVICE [ARGS] [--app-key KEY]",
		Short: "Sign in to a storage service, such as Dropbox for stores at dropbox:/FOLDER",
		Long: `Sign in to a storage service so that vaultdb can use stores there.

dropbox: vaultdb prints a Dropbox page to open; allow access there, and
paste the code Dropbox shows. (When stdin is not a terminal, the code is
read from stdin.) The sign-in is saved in
$XDG_CONFIG_HOME/vaultdb/dropbox-token.json
(~/.config/vaultdb/dropbox-token.json), mode 0600. It is a bearer secret:
whoever can read the file can read and change your Dropbox files until you
run "vaultdb logout dropbox". The app key is that of your own Dropbox app
(see the README): --app-key, else $VAULTDB_DROPBOX_APP_KEY. It is saved
with the sign-in.

remotestorage USER@HOST: vaultdb finds the account's server with
WebFinger and prints (and, where there is a browser, opens) its sign-in
page, asking for access to your "vaultdb" folder. The browser comes back
to vaultdb on a one-time address on 127.0.0.1; if the browser runs on
another machine, paste the address it ends up at. The token is saved in
$XDG_CONFIG_HOME/vaultdb/remotestorage-token.json, mode 0600.`,
		Example: `  vaultdb login dropbox --app-key abcd1234efgh567
  vaultdb --store dropbox:/vaultdb init
  export VAULTDB_STORE=dropbox:/vaultdb
  vaultdb login remotestorage alice@example.com
  vaultdb --store rs:alice@example.com init`,
		ValidArgs: f.serviceNames(),
		Args: func(c *cobra.Command, a []string) error {
			_, err := f.service(c, a)
			return err
		},
		RunE: func(c *cobra.Command, a []string) error {
			o.Service, _ = f.service(c, a)
			o.Args = a[1:]
			if runF != nil {
				return runF(o)
			}
			return o.Service.Login(c.Context(), o.LocationEnv(), location.LoginOptions{Args: o.Args, AppKey: o.AppKey})
		},
	}
	c.Flags().StringVar(&o.AppKey, "app-key", "", "the app key of your Dropbox app (default $VAULTDB_DROPBOX_APP_KEY)")
	return c
}

// readLine reads one line that is not a secret (a pasted code): from stdin
// when it is not a terminal, otherwise on the terminal.
func (f *Factory) readLine(ctx context.Context, prompt string) (string, error) {
	var line string
	var err error
	switch lr, ok := f.IO.Prompter.(term.LineReader); {
	case !f.IO.InTTY:
		line, err = term.ReadLine(ctx, f.IO.In)
	case ok:
		line, err = lr.Line(ctx, prompt)
	default:
		var b []byte
		b, err = f.IO.Prompter.Secret(ctx, prompt)
		line = string(b)
	}
	if errors.Is(err, term.ErrNoTerminal) {
		return "", usageErrorf("no terminal to paste the code on: pipe it to stdin")
	}
	return line, err
}

// LogoutOptions are the options of "vaultdb logout".
type LogoutOptions struct {
	LocationEnv func() *location.Env
	Service     *location.Scheme
}

func newLogoutCmd(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	o := &LogoutOptions{LocationEnv: f.locationEnv}
	return &cobra.Command{
		Use:   "logout SERVICE",
		Short: "Sign out of a storage service and delete the saved sign-in",
		Long: `Revoke vaultdb's sign-in at the service and delete the saved sign-in.

dropbox: if Dropbox cannot be reached, the file is deleted anyway; then
remove vaultdb's access in Dropbox's account settings (Connected apps).

remotestorage: deletes the saved sign-ins of every account; revoke
vaultdb's access on the server's account page too (remoteStorage has no
standard way to revoke a token from the client).`,
		Example: `  vaultdb logout dropbox
  vaultdb logout remotestorage`,
		ValidArgs: f.serviceNames(),
		Args: func(c *cobra.Command, a []string) error {
			if _, err := f.service(c, a); err != nil {
				return err
			}
			if len(a) != 1 {
				return usageErrorf("\"%s %s\" takes no other arguments", c.CommandPath(), a[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, a []string) error {
			o.Service, _ = f.service(c, a)
			if runF != nil {
				return runF(o)
			}
			return o.Service.Logout(c.Context(), o.LocationEnv())
		},
	}
}
