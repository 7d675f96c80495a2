package dropbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/vaultdb/vaultdb/adapters"
)

// OAuth 2 for a command-line program without a server, with PKCE (RFC 7636):
//
//	login := dropbox.AuthConfig{AppKey: key}.StartLogin()
//	fmt.Println("Open", login.URL, "and paste the code here:")
//	code := readLine()
//	tok, err := login.Exchange(ctx, code)
//	err = dropbox.SaveToken(path, &dropbox.TokenFile{AppKey: key, Token: tok})
//
// The authorisation URL asks for offline access (token_access_type=offline),
// so the exchange returns a long-lived refresh token besides the short-lived
// access token, and for the Scopes below. It has no redirect_uri: Dropbox
// shows the code to the user, who pastes it. PKCE replaces the app secret,
// which a program handed to users cannot keep secret.
//
// The flow is built on golang.org/x/oauth2, which already implements the
// PKCE verifier and S256 challenge, the token requests and their error
// responses (RFC 6749 section 5.2); only the Dropbox-specific parameters
// are added here.

// Scopes are the Dropbox permissions vaultdb asks for: reading and writing
// file content.
var Scopes = []string{"files.content.read", "files.content.write"}

// AuthConfig says where and as which app to authorise. The zero value of
// every field gives the default.
type AuthConfig struct {
	AppKey   string // default DefaultAppKey
	AuthURL  string // default DefaultAuthURL
	TokenURL string // default DefaultTokenURL
	APIBase  string // default DefaultAPIBase (for Revoke)
	// HTTPClient makes the token requests; default http.DefaultClient.
	HTTPClient *http.Client
}

func (c AuthConfig) withDefaults() AuthConfig {
	if c.AppKey == "" {
		c.AppKey = DefaultAppKey
	}
	if c.AuthURL == "" {
		c.AuthURL = DefaultAuthURL
	}
	if c.TokenURL == "" {
		c.TokenURL = DefaultTokenURL
	}
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	return c
}

func (c AuthConfig) oauth2() *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.AppKey,
		Endpoint: oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   Scopes,
	}
}

func (c AuthConfig) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.HTTPClient)
}

// Login is one authorisation in progress.
type Login struct {
	// URL is the page the user opens to allow vaultdb access; Dropbox then
	// shows a code to paste.
	URL      string
	cfg      AuthConfig
	verifier string
}

// StartLogin begins an authorisation: it makes a new PKCE verifier and the
// URL to show the user.
func (c AuthConfig) StartLogin() *Login {
	c = c.withDefaults()
	v := oauth2.GenerateVerifier()
	url := c.oauth2().AuthCodeURL("",
		oauth2.S256ChallengeOption(v),
		oauth2.SetAuthURLParam("token_access_type", "offline"))
	return &Login{URL: url, cfg: c, verifier: v}
}

// Exchange trades the code the user pasted for tokens. The error says what
// to do; it matches adapters.ErrUnauthorized when Dropbox refused the code
// and adapters.ErrTransient when it could not be reached.
func (l *Login) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errors.New("no code given: open the URL, allow access, and paste the code Dropbox shows")
	}
	tok, err := l.cfg.oauth2().Exchange(l.cfg.ctx(ctx), code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		return nil, wrapTokenErr(tokenErr(ctx, "exchange", err, code))
	}
	if tok.RefreshToken == "" {
		return nil, errors.New("Dropbox granted no refresh token (offline access); run `vaultdb login dropbox` again")
	}
	return tok, nil
}

// Refresh gets a new access token with a refresh token. The returned token
// keeps refreshToken when Dropbox does not send a new one.
func (c AuthConfig) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	c = c.withDefaults()
	tok, err := c.oauth2().TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, wrapTokenErr(tokenErr(ctx, "refresh", err, refreshToken))
	}
	return tok, nil
}

// Revoke disables tok at Dropbox (auth/token/revoke): its access token, its
// refresh token and every access token issued with that refresh token.
// A token Dropbox already rejects counts as revoked.
func (c AuthConfig) Revoke(ctx context.Context, tok *oauth2.Token) error {
	c = c.withDefaults()
	access := tok.AccessToken
	if access == "" || (!tok.Expiry.IsZero() && time.Now().After(tok.Expiry)) {
		if tok.RefreshToken == "" {
			return nil
		}
		nt, err := c.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			var te *tokenError
			if errors.As(err, &te) && te.kind == adapters.ErrUnauthorized {
				return nil // already unusable
			}
			return err
		}
		access = nt.AccessToken
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIBase, "/")+"/2/auth/token/revoke", http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("could not reach Dropbox to sign out (check the connection): %s", shorten(redact(err.Error(), []string{access, tok.RefreshToken})))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusUnauthorized:
		return nil
	default:
		return fmt.Errorf("Dropbox did not revoke the sign-in (%d %s); remove vaultdb's access in the Dropbox account settings (Connected apps)",
			resp.StatusCode, http.StatusText(resp.StatusCode))
	}
}

// TokenError is the type of the errors of Exchange and Refresh when Dropbox
// answered or could not be reached; it matches an adapters kind with
// errors.Is (ErrUnauthorized or ErrTransient).
type TokenError struct{ e *tokenError }

func (e *TokenError) Error() string { return e.e.msg }
func (e *TokenError) Is(target error) bool {
	return target == e.e.kind
}
func (e *TokenError) Unwrap() error { return e.e }

func wrapTokenErr(err error) error {
	var te *tokenError
	if errors.As(err, &te) {
		return &TokenError{te}
	}
	return err
}

// TokenFileName is the name of the token file in vaultdb's config directory.
const TokenFileName = "dropbox-token.json"

// TokenPath returns where the Dropbox credentials are kept:
// $XDG_CONFIG_HOME/vaultdb/dropbox-token.json, or, when XDG_CONFIG_HOME is
// not set to an absolute path, $HOME/.config/vaultdb/dropbox-token.json.
// getenv is os.Getenv or a stand-in for tests.
//
// The file holds a bearer secret: whoever can read it can read and change
// the files of the linked Dropbox account until the sign-in is revoked (with
// `vaultdb logout dropbox`, or in Dropbox's account settings). It is created
// 0600 in a 0700 directory and never written to the store itself.
func TokenPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "vaultdb", TokenFileName), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config", "vaultdb", TokenFileName), nil
	}
	return "", errors.New("cannot tell where to keep the Dropbox sign-in: neither XDG_CONFIG_HOME nor HOME is set")
}

// TokenFile is the content of the token file.
type TokenFile struct {
	// AppKey is the app the token was issued to; a refresh must use it.
	AppKey    string
	AccountID string
	Token     *oauth2.Token
}

type tokenFileJSON struct {
	Note         string    `json:"note"`
	AppKey       string    `json:"app_key,omitempty"`
	AccountID    string    `json:"account_id,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	AccessToken  string    `json:"access_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

const tokenNote = "Secret: these tokens give access to your Dropbox files. Keep this file private (mode 0600). Revoke with `vaultdb logout dropbox`."

// ErrNoToken is returned by LoadToken when there is no token file.
var ErrNoToken = errors.New("not signed in to Dropbox: run `vaultdb login dropbox` first")

// LoadToken reads the token file at path. A missing file yields an error
// matching ErrNoToken; a file other users may read is refused.
func LoadToken(path string) (*TokenFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s does not exist)", ErrNoToken, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s holds a secret but other users may read it; run `chmod 600 %s` or sign in again", path, path)
	}
	var j tokenFileJSON
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&j); err != nil {
		return nil, fmt.Errorf("%s is damaged (run `vaultdb login dropbox` to replace it): %v", path, err)
	}
	if j.RefreshToken == "" && j.AccessToken == "" {
		return nil, fmt.Errorf("%w (%s holds no token)", ErrNoToken, path)
	}
	return &TokenFile{AppKey: j.AppKey, AccountID: j.AccountID, Token: &oauth2.Token{
		AccessToken: j.AccessToken, RefreshToken: j.RefreshToken, Expiry: j.Expiry, TokenType: "bearer",
	}}, nil
}

// SaveToken writes tf to path atomically, creating the file 0600 and its
// directory 0700.
func SaveToken(path string, tf *TokenFile) error {
	if tf == nil || tf.Token == nil {
		return errors.New("no token to save")
	}
	j := tokenFileJSON{Note: tokenNote, AppKey: tf.AppKey, AccountID: tf.AccountID,
		RefreshToken: tf.Token.RefreshToken, AccessToken: tf.Token.AccessToken, Expiry: tf.Token.Expiry}
	if j.AccountID == "" {
		if id, ok := tf.Token.Extra("account_id").(string); ok {
			j.AccountID = id
		}
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// RemoveToken deletes the token file; a missing file is not an error.
func RemoveToken(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
