package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/retry"
)

// dropboxPrefix starts a Dropbox store location: dropbox:/folder.
const dropboxPrefix = "dropbox:"

// Environment variables of Dropbox stores. The URLs are for tests (a fake
// Dropbox); the app key is the one `vaultdb login dropbox` uses when
// --app-key is not given.
const (
	envDropboxAppKey     = "VAULTDB_DROPBOX_APP_KEY"
	envDropboxAPIURL     = "VAULTDB_DROPBOX_API_URL"
	envDropboxContentURL = "VAULTDB_DROPBOX_CONTENT_URL"
	envDropboxTokenURL   = "VAULTDB_DROPBOX_TOKEN_URL"
	envDropboxAuthURL    = "VAULTDB_DROPBOX_AUTH_URL"
)

// dropboxEndpoints are the base URLs of the Dropbox API, from the
// environment or the defaults.
type dropboxEndpoints struct {
	API, Content, Token, Auth string
}

func (f *Factory) dropboxEndpoints() (dropboxEndpoints, error) {
	var e dropboxEndpoints
	for _, u := range []struct {
		dst      *string
		env, def string
	}{
		{&e.API, envDropboxAPIURL, dropbox.DefaultAPIBase},
		{&e.Content, envDropboxContentURL, dropbox.DefaultContentBase},
		{&e.Token, envDropboxTokenURL, dropbox.DefaultTokenURL},
		{&e.Auth, envDropboxAuthURL, dropbox.DefaultAuthURL},
	} {
		v := f.getenv(u.env)
		if v == "" {
			*u.dst = u.def
			continue
		}
		if err := checkServiceURL(v); err != nil {
			return e, usageErrorf("%s: %v", u.env, err)
		}
		*u.dst = strings.TrimSuffix(v, "/")
	}
	return e, nil
}

// checkServiceURL accepts https URLs, and plain http only to this machine
// (a test server): tokens must not cross a network in the clear.
func checkServiceURL(v string) error {
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

// dropboxTokenPath is where the Dropbox sign-in is kept.
func (f *Factory) dropboxTokenPath() (string, error) {
	p, err := dropbox.TokenPath(f.getenv)
	if err != nil {
		return "", usageErrorf("%v", err)
	}
	return p, nil
}

// dropboxRoot returns the Dropbox folder of a dropbox: location.
func dropboxRoot(loc string) (string, error) {
	root := strings.TrimPrefix(loc, dropboxPrefix)
	if !strings.HasPrefix(root, "/") {
		return "", usageErrorf("store %q: a Dropbox store is dropbox:/FOLDER, as in dropbox:/vaultdb", loc)
	}
	return root, nil
}

// dropboxStore returns the Dropbox adapter for loc (one per process): it
// loads the sign-in saved by `vaultdb login dropbox` and saves the access
// token again whenever the adapter refreshes it. The adapter makes single
// attempts; the retry layer of the stack retries.
func (f *Factory) dropboxStore(loc string) (*dropbox.Adapter, error) {
	f.dropboxMu.Lock()
	defer f.dropboxMu.Unlock()
	if f.dropbox != nil && f.dropboxLoc == loc {
		return f.dropbox, nil
	}
	root, err := dropboxRoot(loc)
	if err != nil {
		return nil, err
	}
	// Check the folder name with the adapter's own rules before asking for
	// a sign-in (New makes no request).
	if _, err := dropbox.New(dropbox.Options{Root: root, Token: &oauth2.Token{AccessToken: "unused"}}); err != nil {
		return nil, usageErrorf("store %q: %v", loc, err)
	}
	ep, err := f.dropboxEndpoints()
	if err != nil {
		return nil, err
	}
	path, err := f.dropboxTokenPath()
	if err != nil {
		return nil, err
	}
	tf, err := dropbox.LoadToken(path)
	if errors.Is(err, dropbox.ErrNoToken) {
		return nil, hintf(err, "not signed in to Dropbox (no %s): run \"vaultdb login dropbox\" first", path)
	}
	if err != nil {
		return nil, hintf(dropbox.ErrNoToken, "cannot use the Dropbox sign-in: %v", err)
	}
	appKey := tf.AppKey
	if appKey == "" {
		appKey = f.getenv(envDropboxAppKey)
	}
	a, err := dropbox.New(dropbox.Options{
		Root:          root,
		APIBase:       ep.API,
		ContentBase:   ep.Content,
		TokenURL:      ep.Token,
		AppKey:        appKey,
		Token:         tf.Token,
		SingleAttempt: true,
		OnToken: func(tok *oauth2.Token) {
			saved := *tf
			saved.AppKey = appKey
			saved.Token = tok
			if err := dropbox.SaveToken(path, &saved); err != nil {
				f.traceMu.Lock()
				fmt.Fprintf(f.IO.ErrOut, "warning: could not save the refreshed Dropbox sign-in to %s: %v\n", path, err)
				f.traceMu.Unlock()
			}
		},
	})
	if err != nil {
		return nil, usageErrorf("store %q: %v", loc, err)
	}
	f.dropbox, f.dropboxLoc = a, loc
	return a, nil
}

// storeErrors gives the errors of a remote store that the user has to act
// on (not authorized; unreachable after the retries) a message of their
// own: the store's explanation and advice, without the layers around it.
// The errors still match what they matched.
type storeErrors struct{ adapters.Adapter }

func (s storeErrors) Read(ctx context.Context, id string) ([]byte, adapters.Rev, error) {
	data, rev, err := s.Adapter.Read(ctx, id)
	return data, rev, storeError(err)
}

func (s storeErrors) Write(ctx context.Context, id string, data []byte, rev adapters.Rev) (adapters.Rev, error) {
	rev, err := s.Adapter.Write(ctx, id, data, rev)
	return rev, storeError(err)
}

func storeError(err error) error {
	if err == nil || !(errors.Is(err, adapters.ErrUnauthorized) || errors.Is(err, adapters.ErrTransient)) {
		return err
	}
	var ae *adapters.Error
	if !errors.As(err, &ae) || ae.Err == nil || ae.Err == ae.Kind {
		return err
	}
	msg := ae.Err.Error()
	var gu *retry.GaveUpError
	if errors.As(err, &gu) {
		msg += fmt.Sprintf(" (gave up after %d attempts)", gu.Attempts)
	}
	return &hintError{msg, err}
}

// failedAdapter fails every request with err.
type failedAdapter struct{ err error }

func (a failedAdapter) Read(context.Context, string) ([]byte, adapters.Rev, error) {
	return nil, adapters.NoRev, a.err
}

func (a failedAdapter) Write(context.Context, string, []byte, adapters.Rev) (adapters.Rev, error) {
	return adapters.NoRev, a.err
}
