package dropbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
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
	// RedirectURL is where Dropbox sends the browser back with the code, for
	// a web page's sign-in (see StartWebLogin); "" for the command line's,
	// where Dropbox shows the code to paste.
	RedirectURL string
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
		ClientID:    c.AppKey,
		Endpoint:    oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:      Scopes,
		RedirectURL: c.RedirectURL,
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

// StartWebLogin begins the authorisation of a web page: Dropbox sends the
// browser back to c.RedirectURL with the code and state, which the page
// checks is the one it made. The page keeps Verifier across the redirect
// (the page is reloaded) and gives it to ResumeLogin.
func (c AuthConfig) StartWebLogin(state string) *Login {
	c = c.withDefaults()
	v := oauth2.GenerateVerifier()
	url := c.oauth2().AuthCodeURL(state,
		oauth2.S256ChallengeOption(v),
		oauth2.SetAuthURLParam("token_access_type", "offline"))
	return &Login{URL: url, cfg: c, verifier: v}
}

// Verifier is the login's PKCE verifier: a one-time secret that makes the
// code useless to anyone but this login.
func (l *Login) Verifier() string { return l.verifier }

// ResumeLogin is the login StartWebLogin began, with its verifier, after
// the browser came back with the code.
func (c AuthConfig) ResumeLogin(verifier string) *Login {
	return &Login{cfg: c.withDefaults(), verifier: verifier}
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
		return nil, errors.New("Dropbox granted no refresh token (offline access)")
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

// ErrSignInInvalid is returned by Revoke when Dropbox no longer accepts the
// sign-in at all (it was revoked already, or only an expired access token is
// left): there is nothing to revoke.
var ErrSignInInvalid = errors.New("Dropbox no longer accepts the sign-in (it was revoked or has expired)")

// Revoke disables tok at Dropbox (auth/token/revoke): its access token, its
// refresh token and every access token issued with that refresh token. It
// returns nil only when Dropbox answered that it revoked them. An access
// token that is missing, expired or about to expire is refreshed first, and
// so is one Dropbox answers 401 for; ErrSignInInvalid means Dropbox refused
// the refresh token itself (invalid_grant), so nothing is left to revoke.
// Any other error, a refused app key (invalid_client) included, means the
// refresh token may still be valid.
func (c AuthConfig) Revoke(ctx context.Context, tok *oauth2.Token) error {
	c = c.withDefaults()
	access := tok.AccessToken
	refreshed := false
	refresh := func() error {
		refreshed = true
		if tok.RefreshToken == "" {
			return ErrSignInInvalid
		}
		nt, err := c.Refresh(ctx, tok.RefreshToken)
		var te *tokenError
		if errors.As(err, &te) && te.msg == msgGrantRefused {
			return ErrSignInInvalid
		}
		if err != nil {
			return err
		}
		access = nt.AccessToken
		return nil
	}
	if access == "" || (!tok.Expiry.IsZero() && !time.Now().Add(expiryMargin).Before(tok.Expiry)) {
		if err := refresh(); err != nil {
			return err
		}
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIBase, "/")+"/2/auth/token/revoke", http.NoBody)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := c.HTTPClient.Do(req)
		if err != nil {
			return fmt.Errorf("could not reach Dropbox to revoke the sign-in: %s", shorten(redact(err.Error(), []string{access, tok.RefreshToken})))
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			// Expired or otherwise refused: the refresh token decides.
			if err := refresh(); err != nil {
				return err
			}
			continue
		case resp.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("Dropbox refused a freshly refreshed access token when revoking (%d %s)", resp.StatusCode, http.StatusText(resp.StatusCode))
		default:
			return fmt.Errorf("Dropbox did not revoke the sign-in (%d %s)", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
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
