package dropbox_test

import (
	"errors"
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
	if err := authConfig(srv).Revoke(ctx, tok); err != nil {
		t.Fatalf("second revoke: %v", err)
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
