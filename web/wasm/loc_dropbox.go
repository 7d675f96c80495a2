//go:build js && wasm && remote

package main

import (
	"context"
	"errors"
	"strings"
	"syscall/js"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/internal/jsfetch"
)

// Dropbox in the page: the command line's adapter over fetch (its default
// Doer in a browser), composed with the stack as on the command line, and the
// sign-in as a web page does it, OAuth 2 with PKCE and a redirect back to
// the page (no app secret: the page cannot keep one).
func init() {
	objectLocations["dropbox"] = openDropbox
	extraFuncs["dropboxStartLogin"] = dropboxStartLogin
	extraFuncs["dropboxFinishLogin"] = dropboxFinishLogin
	extraFuncs["dropboxRevoke"] = dropboxRevoke
}

// dropboxConfig reads the site's Dropbox settings {appKey, authURL,
// tokenURL, apiBase, contentBase} (config.json's "dropbox"); each missing
// URL is Dropbox's own.
func dropboxConfig(v js.Value) (dropbox.AuthConfig, string, error) {
	get := func(k string) string {
		if v.Type() == js.TypeObject {
			if s := v.Get(k); s.Type() == js.TypeString {
				return s.String()
			}
		}
		return ""
	}
	c := dropbox.AuthConfig{AppKey: get("appKey"), AuthURL: get("authURL"), TokenURL: get("tokenURL"), APIBase: get("apiBase"),
		Doer: jsfetch.Doer{}}
	if c.AppKey == "" {
		return c, "", &codedError{"no-app-key", errors.New(`this page has no Dropbox app key: its config.json must name one ({"dropbox": {"appKey": "..."}})`)}
	}
	return c, get("contentBase"), nil
}

// openDropbox opens {type: "dropbox", folder: "/vaultdb", config, token:
// {accessToken, refreshToken, expiry (ms since 1970)}, onToken}. onToken,
// if a function, is called with the new token (the same shape) whenever
// the adapter refreshed the access token, for the page to keep it (as the
// command line saves it to its token file), so that a reload does not
// refresh again.
func openDropbox(loc js.Value) (adapters.Adapter, string, error) {
	cfg, content, err := dropboxConfig(loc.Get("config"))
	if err != nil {
		return nil, "", err
	}
	folder := loc.Get("folder")
	if folder.Type() != js.TypeString {
		return nil, "", errors.New("a Dropbox location needs a folder such as /vaultdb")
	}
	tok, err := dropboxToken(loc.Get("token"))
	if err != nil {
		return nil, "", err
	}
	opts := dropbox.Options{Root: folder.String(), APIBase: cfg.APIBase, ContentBase: content,
		TokenURL: cfg.TokenURL, AppKey: cfg.AppKey, Token: tok, Doer: cfg.Doer}
	if cb := loc.Get("onToken"); cb.Type() == js.TypeFunction {
		opts.OnToken = func(t *dropbox.Token) {
			// A synchronous call: the page only stores it.
			cb.Invoke(js.ValueOf(tokenObject(t)))
		}
	}
	ad, err := dropbox.New(opts)
	if err != nil {
		return nil, "", err
	}
	return remoteStack(ad), "dropbox:" + strings.TrimSuffix(ad.Path(""), "/"), nil
}

// loginConfig reads the (config, redirectURI) arguments both halves of
// the sign-in start with.
func loginConfig(args []js.Value) (dropbox.AuthConfig, error) {
	if len(args) < 1 {
		return dropbox.AuthConfig{}, errors.New("the Dropbox sign-in needs the site's Dropbox settings and the redirect URI")
	}
	cfg, _, err := dropboxConfig(args[0])
	if err != nil {
		return cfg, err
	}
	cfg.RedirectURL, err = str(args, 1, "the redirect URI")
	return cfg, err
}

// dropboxToken reads {accessToken, refreshToken, expiry (ms since 1970)}.
func dropboxToken(t js.Value) (*dropbox.Token, error) {
	if t.Type() != js.TypeObject {
		return nil, &codedError{"not-signed-in", errors.New("not signed in to Dropbox: sign in first")}
	}
	tok := &dropbox.Token{}
	if v := t.Get("accessToken"); v.Type() == js.TypeString {
		tok.AccessToken = v.String()
	}
	if v := t.Get("refreshToken"); v.Type() == js.TypeString {
		tok.RefreshToken = v.String()
	}
	if v := t.Get("expiry"); v.Type() == js.TypeNumber {
		tok.Expiry = time.UnixMilli(int64(v.Float()))
	}
	return tok, nil
}

// dropboxRevoke(config, token) disables the sign-in at Dropbox (its
// refresh token and every access token issued with it), as "vaultdb
// logout dropbox" does. A sign-in Dropbox no longer accepts resolves too:
// there is nothing left to revoke.
func dropboxRevoke(args []js.Value) (any, error) {
	if len(args) < 2 {
		return nil, errors.New("dropboxRevoke(config, token)")
	}
	cfg, _, err := dropboxConfig(args[0])
	if err != nil {
		return nil, err
	}
	tok, err := dropboxToken(args[1])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = cfg.Revoke(ctx, tok)
	if errors.Is(err, dropbox.ErrSignInInvalid) {
		return "invalid", nil
	}
	if err != nil {
		return nil, err
	}
	return "revoked", nil
}

// dropboxStartLogin(config, redirectURI, state) returns {url, verifier}:
// the page keeps the verifier (in sessionStorage) and goes to url.
func dropboxStartLogin(args []js.Value) (any, error) {
	cfg, err := loginConfig(args)
	if err != nil {
		return nil, err
	}
	state, err := str(args, 2, "the state")
	if err != nil {
		return nil, err
	}
	l := cfg.StartWebLogin(state)
	return map[string]any{"url": l.URL, "verifier": l.Verifier()}, nil
}

// dropboxFinishLogin(config, redirectURI, verifier, code) trades the code
// Dropbox sent back for {accessToken, refreshToken, expiry}.
func dropboxFinishLogin(args []js.Value) (any, error) {
	cfg, err := loginConfig(args)
	if err != nil {
		return nil, err
	}
	verifier, err := str(args, 2, "the verifier")
	if err != nil {
		return nil, err
	}
	code, err := str(args, 3, "the code")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok, err := cfg.ResumeLogin(verifier).Exchange(ctx, code)
	if err != nil {
		return nil, err
	}
	return tokenObject(tok), nil
}

// tokenObject is the page's form of a sign-in: {accessToken, refreshToken,
// expiry (ms since 1970)}.
func tokenObject(tok *dropbox.Token) map[string]any {
	return map[string]any{"accessToken": tok.AccessToken, "refreshToken": tok.RefreshToken,
		"expiry": float64(tok.Expiry.UnixMilli())}
}
