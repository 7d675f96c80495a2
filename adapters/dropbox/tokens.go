package dropbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/wire"
)

// expiryMargin is how long before its known expiry an access token is
// refreshed rather than used.
const expiryMargin = time.Minute

// tokenError is a failure to get an access token; kind is an adapters kind.
type tokenError struct {
	kind error
	msg  string
}

// msgGrantRefused is the message of a refresh answered invalid_grant: the
// refresh token itself is no longer valid.
const msgGrantRefused = "Dropbox refused the stored sign-in (it was revoked or has expired)"

func (e *tokenError) Error() string { return e.msg }

// tokens holds the adapter's credentials and refreshes the access token, one
// refresh at a time for all concurrent requests.
type tokens struct {
	auth    AuthConfig
	onToken func(*Token)
	now     func() time.Time
	sem     chan struct{} // held while refreshing

	mu    sync.Mutex
	tok   *Token
	seen  []string // every token held, to redact from error text
	fatal error    // a refusal to refresh: every later request fails with it
}

func newTokens(opts Options, now func() time.Time) *tokens {
	tok := *opts.Token
	return &tokens{
		auth:    AuthConfig{AppKey: opts.AppKey, TokenURL: opts.TokenURL, Doer: opts.Doer, Now: now},
		onToken: opts.OnToken,
		now:     now,
		sem:     make(chan struct{}, 1),
		tok:     &tok,
		seen:    []string{tok.AccessToken, tok.RefreshToken},
	}
}

func (t *tokens) current() *Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := *t.tok
	return &tok
}

func (t *tokens) secrets() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen
}

// get returns an access token to use, refreshing first if there is none or
// it is known to have expired.
func (t *tokens) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	tok, fatal := *t.tok, t.fatal
	t.mu.Unlock()
	if fatal != nil {
		return "", fatal
	}
	if tok.AccessToken != "" && (tok.Expiry.IsZero() || t.now().Add(expiryMargin).Before(tok.Expiry)) {
		return tok.AccessToken, nil
	}
	return t.refresh(ctx, tok.AccessToken)
}

// refresh returns a fresh access token to use instead of stale. If another
// request already replaced stale, its token is returned without a refresh.
func (t *tokens) refresh(ctx context.Context, stale string) (string, error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()

	t.mu.Lock()
	cur, fatal := *t.tok, t.fatal
	t.mu.Unlock()
	if fatal != nil {
		return "", fatal
	}
	if cur.AccessToken != "" && cur.AccessToken != stale {
		return cur.AccessToken, nil
	}
	if cur.RefreshToken == "" {
		err := &tokenError{adapters.ErrUnauthorized,
			"the Dropbox access token has expired and no refresh token is stored"}
		t.mu.Lock()
		t.fatal = err
		t.mu.Unlock()
		return "", err
	}
	nt, err := t.auth.Refresh(ctx, cur.RefreshToken)
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) && te.kind == adapters.ErrUnauthorized {
			t.mu.Lock()
			t.fatal = te
			t.mu.Unlock()
		}
		return "", err
	}
	t.mu.Lock()
	t.tok = nt
	t.seen = append(t.seen[:len(t.seen):len(t.seen)], nt.AccessToken, nt.RefreshToken)
	t.mu.Unlock()
	if t.onToken != nil {
		cp := *nt
		t.onToken(&cp)
	}
	return nt.AccessToken, nil
}

// tokenErr classifies a failure of the token endpoint. what is "refresh"
// or "exchange".
func tokenErr(ctx context.Context, what string, err error, secrets ...string) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var re *oauthError
	if !errors.As(err, &re) {
		return &tokenError{adapters.ErrTransient,
			fmt.Sprintf("could not reach Dropbox to %s the sign-in (check the connection): %s", what, shorten(redact(err.Error(), secrets)))}
	}
	status := re.status
	switch {
	case re.code == "invalid_grant" && what == "exchange":
		return &tokenError{adapters.ErrUnauthorized,
			"Dropbox did not accept the code (it may be mistyped, used already or expired)"}
	case re.code == "invalid_grant":
		return &tokenError{adapters.ErrUnauthorized, msgGrantRefused}
	case re.code == "invalid_client" || re.code == "unauthorized_client":
		return &tokenError{adapters.ErrUnauthorized,
			"Dropbox does not accept vaultdb's app key; configure a valid Dropbox app key"}
	case status == 429 || status >= 500:
		return &tokenError{adapters.ErrTransient,
			fmt.Sprintf("Dropbox could not %s the sign-in just now (%d %s); try again later", what, status, wire.StatusText(status))}
	default:
		code := re.code
		if code == "" {
			code = fmt.Sprintf("%d %s", status, wire.StatusText(status))
		}
		return &tokenError{adapters.ErrUnauthorized,
			fmt.Sprintf("Dropbox refused to %s the sign-in (%s)", what, shorten(redact(code, secrets)))}
	}
}
