package dropbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
)

func authConfig(srv *dropboxtest.Server) dropbox.AuthConfig {
	return dropbox.AuthConfig{AppKey: dropboxtest.AppKey, AuthURL: srv.AuthURL(), TokenURL: srv.TokenURL(), APIBase: srv.URL}
}

func TestLoginFlow(t *testing.T) {
	srv := dropboxtest.NewServer(t)
	login := authConfig(srv).StartLogin()
	u, err := url.Parse(login.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": dropboxtest.AppKey, "response_type": "code", "token_access_type": "offline",
		"code_challenge_method": "S256", "scope": "files.content.read files.content.write",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Has("redirect_uri") || q.Has("client_secret") {
		t.Errorf("URL has a redirect or secret: %s", login.URL)
	}

	code, err := srv.Approve(login.URL)
	if err != nil {
		t.Fatal(err)
	}
	// A second login's verifier does not match the first one's code.
	other := authConfig(srv).StartLogin()
	if _, err := other.Exchange(ctx, code); !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "did not accept the code") {
		t.Fatalf("exchange with the wrong verifier: %v", err)
	}
	code, _ = srv.Approve(login.URL)
	tok, err := login.Exchange(ctx, "  "+code+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("token %+v", tok)
	}
	// The code is single-use.
	if _, err := login.Exchange(ctx, code); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("second exchange: %v", err)
	}

	// Use.
	a, err := dropbox.New(dropbox.Options{Root: "/v", APIBase: srv.URL, ContentBase: srv.URL, TokenURL: srv.TokenURL(),
		AppKey: dropboxtest.AppKey, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, "config", []byte("c"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}

	// Refresh directly.
	nt, err := authConfig(srv).Refresh(ctx, tok.RefreshToken)
	if err != nil || nt.AccessToken == "" || nt.AccessToken == tok.AccessToken || nt.RefreshToken != tok.RefreshToken {
		t.Fatalf("Refresh: %+v %v", nt, err)
	}

	// Logout: revoke, then every token of the login is dead.
	if err := authConfig(srv).Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := authConfig(srv).Refresh(ctx, tok.RefreshToken); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("refresh after revoke: %v", err)
	}
	if _, _, err := a.Read(ctx, "config"); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("read after revoke: %v", err)
	}
	// A second revoke finds nothing left to revoke, and says so.
	if err := authConfig(srv).Revoke(ctx, tok); !errors.Is(err, dropbox.ErrSignInInvalid) {
		t.Fatalf("second revoke: %v, want ErrSignInInvalid", err)
	}
}

func TestExchangeErrors(t *testing.T) {
	srv := dropboxtest.NewServer(t)
	if _, err := authConfig(srv).StartLogin().Exchange(ctx, " "); err == nil {
		t.Fatal("empty code accepted")
	}
	bad := authConfig(srv)
	bad.AppKey = "unknown"
	_, err := bad.StartLogin().Exchange(ctx, "code-x")
	if !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "app key") {
		t.Fatalf("unknown app key: %v", err)
	}
	srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Token, Kind: dropboxtest.Unavailable})
	_, err = authConfig(srv).Refresh(ctx, "rt-x")
	if !errors.Is(err, adapters.ErrTransient) || strings.Contains(err.Error(), "rt-x") {
		t.Fatalf("refresh during an outage: %v", err)
	}
	_, err = authConfig(srv).Refresh(ctx, "rt-secret-value")
	if !errors.Is(err, adapters.ErrUnauthorized) || strings.Contains(err.Error(), "rt-secret-value") {
		t.Fatalf("unknown refresh token: %v", err)
	}
}

// refreshValid reports whether the fake still accepts refresh token rt.
func refreshValid(srv *dropboxtest.Server, rt string) bool {
	_, err := authConfig(srv).Refresh(context.Background(), rt)
	return err == nil
}

// TestRevokeHonest: Revoke returns nil only when Dropbox revoked the
// sign-in. Before, a 401 on revoke (an access token Dropbox considers
// expired) and a refresh refused with invalid_client counted as revoked,
// while the refresh token stayed valid.
func TestRevokeHonest(t *testing.T) {
	ctx := context.Background()
	t.Run("expired at Dropbox", func(t *testing.T) {
		srv := dropboxtest.NewServer(t)
		at, rt := srv.IssueTokens()
		srv.ExpireAccessTokens()
		if err := authConfig(srv).Revoke(ctx, &dropbox.Token{AccessToken: at, RefreshToken: rt}); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if refreshValid(srv, rt) {
			t.Fatal("Revoke returned nil but the refresh token is still valid")
		}
	})
	t.Run("about to expire", func(t *testing.T) {
		srv := dropboxtest.NewServer(t)
		at, rt := srv.IssueTokens()
		tok := &dropbox.Token{AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(20 * time.Second)}
		if err := authConfig(srv).Revoke(ctx, tok); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if n := srv.Stats().Refreshes; n != 1 || refreshValid(srv, rt) {
			t.Fatalf("%d refreshes before revoking a token that expires in 20 s, want 1; refresh token valid after: %v", n, refreshValid(srv, rt))
		}
	})
	t.Run("app key refused", func(t *testing.T) {
		srv := dropboxtest.NewServer(t)
		at, rt := srv.IssueTokens()
		srv.ExpireAccessTokens()
		cfg := authConfig(srv)
		cfg.AppKey = "another-app"
		err := cfg.Revoke(ctx, &dropbox.Token{AccessToken: at, RefreshToken: rt})
		if err == nil || errors.Is(err, dropbox.ErrSignInInvalid) {
			t.Fatalf("Revoke with a refused app key: %v, want a failure", err)
		}
		if !refreshValid(srv, rt) {
			t.Fatal("the refresh token should still be valid")
		}
	})
	t.Run("already revoked", func(t *testing.T) {
		srv := dropboxtest.NewServer(t)
		at, rt := srv.IssueTokens()
		srv.ExpireAccessTokens()
		srv.RevokeRefreshTokens()
		if err := authConfig(srv).Revoke(ctx, &dropbox.Token{AccessToken: at, RefreshToken: rt}); !errors.Is(err, dropbox.ErrSignInInvalid) {
			t.Fatalf("Revoke of a dead sign-in: %v, want ErrSignInInvalid", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		srv := dropboxtest.NewServer(t)
		at, rt := srv.IssueTokens()
		srv.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Revoke, Kind: dropboxtest.ServerError})
		err := authConfig(srv).Revoke(ctx, &dropbox.Token{AccessToken: at, RefreshToken: rt})
		if err == nil || errors.Is(err, dropbox.ErrSignInInvalid) || !refreshValid(srv, rt) {
			t.Fatalf("Revoke answered 500: %v", err)
		}
	})
}

// TestWebLogin: a web page's sign-in. Dropbox sends the browser back to
// the page with the code and the page's state; the page, reloaded, trades
// the code with the verifier it kept. A code is good only with the
// redirect it was issued for.
func TestWebLogin(t *testing.T) {
	srv := dropboxtest.NewServer(t)
	ctx := context.Background()
	cfg := authConfig(srv)
	cfg.RedirectURL = "http://127.0.0.1:9/vaultdb/"
	authorize := func() (code string, verifier string) {
		t.Helper()
		login := cfg.StartWebLogin("st4te")
		if login.Verifier() == "" || strings.Contains(login.URL, login.Verifier()) {
			t.Fatalf("verifier %q in URL %s", login.Verifier(), login.URL)
		}
		c := srv.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(login.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), cfg.RedirectURL+"?") {
			t.Fatalf("authorize answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if back.Query().Get("state") != "st4te" || back.Query().Get("code") == "" {
			t.Fatalf("redirected to %s", back)
		}
		return back.Query().Get("code"), login.Verifier()
	}

	code, verifier := authorize()
	tok, err := cfg.ResumeLogin(verifier).Exchange(ctx, code)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange after the redirect: %v", err)
	}

	code, verifier = authorize()
	other := cfg
	other.RedirectURL = "http://127.0.0.1:9/elsewhere/"
	if _, err := other.ResumeLogin(verifier).Exchange(ctx, code); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Errorf("exchange with another redirect: %v", err)
	}
	code, _ = authorize()
	if _, err := cfg.ResumeLogin(dropbox.NewVerifier()).Exchange(ctx, code); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Errorf("exchange with another verifier: %v", err)
	}
}

// TestPKCEKnownAnswer: the S256 challenge of RFC 7636's example (appendix
// B), and verifiers of the recommended form.
func TestPKCEKnownAnswer(t *testing.T) {
	if got := dropbox.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("Challenge = %q", got)
	}
	v1, v2 := dropbox.NewVerifier(), dropbox.NewVerifier()
	if len(v1) != 43 || v1 == v2 || strings.Trim(v1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("verifiers %q, %q", v1, v2)
	}
	login := dropbox.AuthConfig{AppKey: "k"}.StartLogin()
	u, err := url.Parse(login.URL)
	if err != nil || u.Query().Get("code_challenge") != dropbox.Challenge(login.Verifier()) {
		t.Errorf("URL %s does not carry the verifier's challenge", login.URL)
	}
}

// TestTokenRequests: the exchange and the refresh are the form POSTs of
// RFC 6749 sections 4.1.3 and 6 with the PKCE verifier and the app key as
// client_id; the answer's expires_in dates the access token by the
// config's clock; a refresh answer without a refresh token keeps the old
// one; answers that are not a bearer token are refused without any token
// in the message.
func TestTokenRequests(t *testing.T) {
	var forms []url.Values
	var types []string
	answer := `{"access_token":"at-1","token_type":"bearer","expires_in":14400,"refresh_token":"rt-1","account_id":"dbid:x"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		forms = append(forms, r.PostForm)
		types = append(types, r.Header.Get("Content-Type"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	cfg := dropbox.AuthConfig{AppKey: "app", TokenURL: srv.URL, RedirectURL: "http://127.0.0.1:9/", Now: func() time.Time { return now }}
	login := cfg.StartWebLogin("st")
	tok, err := login.Exchange(ctx, "the-code")
	if err != nil {
		t.Fatal(err)
	}
	if *tok != (dropbox.Token{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: now.Add(4 * time.Hour), AccountID: "dbid:x"}) {
		t.Errorf("token %+v", tok)
	}
	answer = `{"access_token":"at-2","token_type":"bearer","expires_in":"60"}`
	tok, err = cfg.Refresh(ctx, "rt-1")
	if err != nil || tok.AccessToken != "at-2" || tok.RefreshToken != "rt-1" || !tok.Expiry.Equal(now.Add(time.Minute)) {
		t.Errorf("refresh: %+v, %v", tok, err)
	}
	want := []url.Values{
		{"grant_type": {"authorization_code"}, "code": {"the-code"}, "client_id": {"app"}, "code_verifier": {login.Verifier()}, "redirect_uri": {"http://127.0.0.1:9/"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}, "client_id": {"app"}},
	}
	for i := range want {
		if fmt.Sprint(forms[i]) != fmt.Sprint(want[i]) || types[i] != "application/x-www-form-urlencoded" {
			t.Errorf("request %d: %s form %v, want %v", i, types[i], forms[i], want[i])
		}
	}
	for _, a := range []string{`{"access_token":"at-secret","token_type":"mac"}`, `{"token_type":"bearer"}`, `<html>`} {
		answer = a
		if _, err := cfg.Refresh(ctx, "rt-1"); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("answer %s: %v", a, err)
		}
	}
}
