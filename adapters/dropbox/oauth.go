package dropbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/vaultdb/vaultdb/adapters/wire"
	"github.com/vaultdb/vaultdb/adapters/wire/wiredefault"
)

// OAuth 2 for a command-line program without a server, with PKCE (RFC 7636):
//
//	login := dropbox.AuthConfig{AppKey: key}.StartLogin()
//	fmt.Println("Open", login.URL, "and paste the code here:")
//	code := readLine()
//	tok, err := login.Exchange(ctx, code)
//
// The authorisation URL asks for offline access (token_access_type=offline),
// so the exchange returns a long-lived refresh token besides the short-lived
// access token, and for the Scopes below. It has no redirect_uri: Dropbox
// shows the code to the user, who pastes it. PKCE replaces the app secret,
// which a program handed to users cannot keep secret.
//
// The token requests are plain form POSTs to the token endpoint (RFC 6749
// sections 4.1.3 and 6, with the verifier of RFC 7636 section 4.5) and the
// app key as client_id in the form (a public client: no secret). They go
// through a wire.Doer like the adapter's requests, so a web page makes
// them with fetch.

// Scopes are the Dropbox permissions vaultdb asks for: reading and writing
// file content.
var Scopes = []string{"files.content.read", "files.content.write"}

// Token is a Dropbox sign-in: a refresh token, an access token, or both.
// The refresh token and the access token are secrets.
type Token struct {
	AccessToken  string
	RefreshToken string
	// Expiry is when the access token expires; zero when unknown.
	Expiry time.Time
	// AccountID is the Dropbox account the sign-in is for, as the code
	// exchange names it ("" when unknown).
	AccountID string
}

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
	// Doer sends the token requests; default wiredefault.Doer().
	Doer wire.Doer
	// Now is the clock that dates a new access token's expiry; default
	// time.Now.
	Now func() time.Time
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
	if c.Doer == nil {
		c.Doer = wiredefault.Doer()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
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
func (c AuthConfig) StartLogin() *Login { return c.StartWebLogin("") }

// StartWebLogin begins the authorisation of a web page: Dropbox sends the
// browser back to c.RedirectURL with the code and state, which the page
// checks is the one it made. The page keeps Verifier across the redirect
// (the page is reloaded) and gives it to ResumeLogin.
func (c AuthConfig) StartWebLogin(state string) *Login {
	c = c.withDefaults()
	v := NewVerifier()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.AppKey},
		"scope":                 {strings.Join(Scopes, " ")},
		"code_challenge":        {Challenge(v)},
		"code_challenge_method": {"S256"},
		"token_access_type":     {"offline"},
	}
	if c.RedirectURL != "" {
		q.Set("redirect_uri", c.RedirectURL)
	}
	if state != "" {
		q.Set("state", state)
	}
	sep := "?"
	if strings.Contains(c.AuthURL, "?") {
		sep = "&"
	}
	return &Login{URL: c.AuthURL + sep + q.Encode(), cfg: c, verifier: v}
}

// NewVerifier returns a new PKCE code verifier: 32 random bytes,
// base64url-encoded without padding (43 characters), as RFC 7636 section
// 4.1 recommends.
func NewVerifier() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Challenge is the S256 code challenge of verifier (RFC 7636 section 4.2):
// BASE64URL(SHA256(verifier)) without padding.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
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
func (l *Login) Exchange(ctx context.Context, code string) (*Token, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errors.New("no code given: open the URL, allow access, and paste the code Dropbox shows")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"client_id":     {l.cfg.AppKey},
		"code_verifier": {l.verifier},
	}
	if l.cfg.RedirectURL != "" {
		form.Set("redirect_uri", l.cfg.RedirectURL)
	}
	tok, err := l.cfg.token(ctx, form)
	if err != nil {
		return nil, wrapTokenErr(tokenErr(ctx, "exchange", err, code, l.verifier))
	}
	if tok.RefreshToken == "" {
		return nil, errors.New("Dropbox granted no refresh token (offline access)")
	}
	return tok, nil
}

// Refresh gets a new access token with a refresh token. The returned token
// keeps refreshToken when Dropbox does not send a new one.
func (c AuthConfig) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	c = c.withDefaults()
	tok, err := c.token(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"client_id":     {c.AppKey},
	})
	if err != nil {
		return nil, wrapTokenErr(tokenErr(ctx, "refresh", err, refreshToken))
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}

// oauthError is an error answer of the token endpoint (RFC 6749 section
// 5.2), or a failed answer without that shape (code "").
type oauthError struct {
	status int
	code   string // the "error" field: invalid_grant, invalid_client, ...
}

func (e *oauthError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("the token endpoint answered %d: %s", e.status, e.code)
	}
	return fmt.Sprintf("the token endpoint answered %d %s", e.status, wire.StatusText(e.status))
}

// maxTokenAnswer bounds the token endpoint's answer.
const maxTokenAnswer = 1 << 20

// token sends one token request (c has its defaults) and reads the
// answer: a Token, an *oauthError, or another error when no usable answer
// came.
func (c AuthConfig) token(ctx context.Context, form url.Values) (*Token, error) {
	req := wire.NewRequest("POST", c.TokenURL, []byte(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Doer.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("the token endpoint's answer was cut off: %v", err)
	}
	if len(body) > maxTokenAnswer {
		return nil, errors.New("the token endpoint's answer is larger than 1 MiB")
	}
	if resp.Status < 200 || resp.Status > 299 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		return nil, &oauthError{status: resp.Status, code: e.Error}
	}
	var t struct {
		AccessToken  string      `json:"access_token"`
		TokenType    string      `json:"token_type"`
		ExpiresIn    json.Number `json:"expires_in"`
		RefreshToken string      `json:"refresh_token"`
		AccountID    string      `json:"account_id"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, errors.New("the token endpoint's answer is not JSON")
	}
	if t.AccessToken == "" {
		return nil, errors.New("the token endpoint's answer holds no access token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return nil, fmt.Errorf("the token endpoint issued a token of type %q, not a bearer token", shorten(t.TokenType))
	}
	tok := &Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, AccountID: t.AccountID}
	if n, err := t.ExpiresIn.Int64(); err == nil && n > 0 {
		tok.Expiry = c.Now().Add(time.Duration(n) * time.Second)
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
func (c AuthConfig) Revoke(ctx context.Context, tok *Token) error {
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
	if access == "" || (!tok.Expiry.IsZero() && !c.Now().Add(expiryMargin).Before(tok.Expiry)) {
		if err := refresh(); err != nil {
			return err
		}
	}
	for {
		req := wire.NewRequest("POST", strings.TrimSuffix(c.APIBase, "/")+"/2/auth/token/revoke", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := c.Doer.Do(ctx, req)
		if err != nil {
			return fmt.Errorf("could not reach Dropbox to revoke the sign-in: %s", shorten(redact(err.Error(), []string{access, tok.RefreshToken})))
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.Status == 200:
			return nil
		case resp.Status == 401 && !refreshed:
			// Expired or otherwise refused: the refresh token decides.
			if err := refresh(); err != nil {
				return err
			}
			continue
		case resp.Status == 401:
			return fmt.Errorf("Dropbox refused a freshly refreshed access token when revoking (%d %s)", resp.Status, wire.StatusText(resp.Status))
		default:
			return fmt.Errorf("Dropbox did not revoke the sign-in (%d %s)", resp.Status, wire.StatusText(resp.Status))
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
