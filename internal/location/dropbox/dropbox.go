// Package dropbox is the location scheme of a store in a Dropbox folder,
// dropbox:/FOLDER: the sign-in saved by "vaultdb login dropbox", the API
// endpoints (overridable for tests), and the login and logout flows.
package dropbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	dbx "github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/adapters/stack"
	"github.com/vaultdb/vaultdb/internal/location"
)

// Environment variables. The URLs are for tests (a fake Dropbox); the app
// key is the one "vaultdb login dropbox" uses when --app-key is not given.
const (
	EnvAppKey     = "VAULTDB_DROPBOX_APP_KEY"
	EnvAPIURL     = "VAULTDB_DROPBOX_API_URL"
	EnvContentURL = "VAULTDB_DROPBOX_CONTENT_URL"
	EnvTokenURL   = "VAULTDB_DROPBOX_TOKEN_URL"
	EnvAuthURL    = "VAULTDB_DROPBOX_AUTH_URL"
)

// authTimeout bounds each request of login and logout.
const authTimeout = 60 * time.Second

// Scheme is a store in a Dropbox folder.
var Scheme = &location.Scheme{
	Name:   "dropbox",
	Usage:  "dropbox:/FOLDER",
	Parse:  parse,
	Open:   open,
	Login:  login,
	Logout: logout,
	Layers: func(o *stack.Options) {
		// The adapter makes single attempts; retries are the stack's.
		if o.Retry == nil {
			o.Retry = &retry.Options{}
		}
	},
}

func parse(rest string) (string, error) {
	if !strings.HasPrefix(rest, "/") {
		return "", location.Usagef("store %q: a Dropbox store is dropbox:/FOLDER, as in dropbox:/vaultdb", "dropbox:"+rest)
	}
	if _, err := dbx.CleanRoot(rest); err != nil {
		return "", location.Usagef("store %q: %v", "dropbox:"+rest, err)
	}
	return rest, nil
}

// endpoints are the base URLs of the Dropbox API, from the environment or
// the defaults.
type endpoints struct {
	API, Content, Token, Auth string
}

func getEndpoints(env *location.Env) (endpoints, error) {
	var e endpoints
	for _, u := range []struct {
		dst      *string
		env, def string
	}{
		{&e.API, EnvAPIURL, dbx.DefaultAPIBase},
		{&e.Content, EnvContentURL, dbx.DefaultContentBase},
		{&e.Token, EnvTokenURL, dbx.DefaultTokenURL},
		{&e.Auth, EnvAuthURL, dbx.DefaultAuthURL},
	} {
		v := env.Getenv(u.env)
		if v == "" {
			*u.dst = u.def
			continue
		}
		if err := CheckServiceURL(v); err != nil {
			return e, location.Usagef("%s: %v", u.env, err)
		}
		*u.dst = strings.TrimSuffix(v, "/")
	}
	return e, nil
}

// CheckServiceURL accepts https URLs, and plain http only to this machine
// (a test server): tokens must not cross a network in the clear.
func CheckServiceURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", v)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be an https URL (plain http only to localhost)", v)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// open loads the saved sign-in and returns the adapter for the folder; it
// saves the access token again whenever the adapter refreshes it.
func open(_ context.Context, env *location.Env, root string) (adapters.Adapter, error) {
	ep, err := getEndpoints(env)
	if err != nil {
		return nil, err
	}
	path, err := tokenPath(env)
	if err != nil {
		return nil, err
	}
	tf, err := LoadToken(path)
	if errors.Is(err, ErrNoToken) {
		return nil, location.NotSignedInf("not signed in to Dropbox (no %s)", path)
	}
	if err != nil {
		return nil, location.NotSignedInf("cannot use the Dropbox sign-in: %v", err)
	}
	appKey := tf.AppKey
	if appKey == "" {
		appKey = env.Getenv(EnvAppKey)
	}
	a, err := dbx.New(dbx.Options{
		Root:        root,
		APIBase:     ep.API,
		ContentBase: ep.Content,
		TokenURL:    ep.Token,
		AppKey:      appKey,
		Token:       tf.Token,
		OnToken: func(tok *dbx.Token) {
			saved := *tf
			saved.AppKey = appKey
			saved.Token = tok
			if err := SaveToken(path, &saved); err != nil {
				env.Warnf("could not save the refreshed Dropbox sign-in to %s: %v", path, err)
			}
		},
	})
	if err != nil {
		return nil, location.Usagef("store %q: %v", "dropbox:"+root, err)
	}
	return a, nil
}

func login(ctx context.Context, env *location.Env, opts location.LoginOptions) error {
	if len(opts.Args) != 0 {
		return location.Usagef("\"vaultdb login dropbox\" takes no arguments besides --app-key")
	}
	key := strings.TrimSpace(opts.AppKey)
	if key == "" {
		key = strings.TrimSpace(env.Getenv(EnvAppKey))
	}
	if key == "" {
		return location.Usagef("no Dropbox app key: create a Dropbox app (see the README), then run \"vaultdb login dropbox --app-key KEY\" or set %s", EnvAppKey)
	}
	ep, err := getEndpoints(env)
	if err != nil {
		return err
	}
	path, err := tokenPath(env)
	if err != nil {
		return err
	}
	lg := dbx.AuthConfig{AppKey: key, AuthURL: ep.Auth, TokenURL: ep.Token, APIBase: ep.API}.StartLogin()
	fmt.Fprintf(env.ErrOut, "Open this page, sign in to Dropbox and allow vaultdb access:\n\n  %s\n\nThen paste the code Dropbox shows.\n", lg.URL)
	code, err := env.ReadLine(ctx, "Code: ")
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return location.Usagef("no code was given: open the page, allow access, and paste the code Dropbox shows")
	}
	xctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	tok, err := lg.Exchange(xctx, code)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, adapters.ErrUnauthorized) {
			return fmt.Errorf("signing in to Dropbox failed: %w; run \"vaultdb login dropbox\" again", err)
		}
		return fmt.Errorf("signing in to Dropbox failed: %w", err)
	}
	if err := SaveToken(path, &TokenFile{AppKey: key, Token: tok}); err != nil {
		return fmt.Errorf("signed in, but cannot save the sign-in to %s: %w", path, err)
	}
	fmt.Fprintf(env.ErrOut, "Signed in to Dropbox. The sign-in is saved in %s (mode 0600).\n"+
		"It is a secret: whoever can read that file can use your Dropbox until you run \"vaultdb logout dropbox\".\n"+
		"Use a store in Dropbox with --store dropbox:/vaultdb or VAULTDB_STORE=dropbox:/vaultdb.\n", path)
	return nil
}

func logout(ctx context.Context, env *location.Env) error {
	path, err := tokenPath(env)
	if err != nil {
		return err
	}
	tf, err := LoadToken(path)
	if errors.Is(err, ErrNoToken) {
		// An empty file still goes.
		if err := RemoveToken(path); err != nil {
			return fmt.Errorf("cannot delete %s: %w", path, err)
		}
		fmt.Fprintf(env.ErrOut, "Not signed in to Dropbox (no sign-in in %s); nothing to do.\n", path)
		return nil
	}
	var revokeErr error
	if err != nil {
		revokeErr = fmt.Errorf("cannot read the sign-in to revoke it: %w", err)
	} else {
		ep, err := getEndpoints(env)
		if err != nil {
			return err
		}
		appKey := tf.AppKey
		if appKey == "" {
			appKey = env.Getenv(EnvAppKey)
		}
		rctx, cancel := context.WithTimeout(ctx, authTimeout)
		revokeErr = dbx.AuthConfig{AppKey: appKey, TokenURL: ep.Token, APIBase: ep.API}.Revoke(rctx, tf.Token)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := RemoveToken(path); err != nil {
		return fmt.Errorf("cannot delete the Dropbox sign-in %s: %w", path, err)
	}
	if errors.Is(revokeErr, dbx.ErrSignInInvalid) {
		// Nothing left to revoke: saying "revoked" would claim what
		// Dropbox did not say.
		fmt.Fprintf(env.ErrOut, "Signed out of Dropbox: %v, so there was nothing to revoke; deleted %s.\n", revokeErr, path)
		return nil
	}
	if revokeErr != nil {
		env.Warnf("the sign-in was not revoked at Dropbox: %v. It stays valid until you remove vaultdb's access in Dropbox's account settings (Connected apps)", revokeErr)
		fmt.Fprintf(env.ErrOut, "Deleted the local sign-in %s anyway.\n", path)
		return nil
	}
	fmt.Fprintf(env.ErrOut, "Signed out of Dropbox: revoked the sign-in and deleted %s.\n", path)
	return nil
}
