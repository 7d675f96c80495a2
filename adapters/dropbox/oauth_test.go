package dropbox_test

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

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
	if _, err := other.Exchange(ctx, code); !errors.Is(err, adapters.ErrUnauthorized) || !strings.Contains(err.Error(), "paste the new code") {
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

	// Save, load, use.
	path := filepath.Join(t.TempDir(), "cfg", "vaultdb", dropbox.TokenFileName)
	if err := dropbox.SaveToken(path, &dropbox.TokenFile{AppKey: dropboxtest.AppKey, Token: tok}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700 | fs.ModeDir} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, st.Mode(), want, err)
		}
	}
	tf, err := dropbox.LoadToken(path)
	if err != nil {
		t.Fatal(err)
	}
	if tf.AppKey != dropboxtest.AppKey || tf.AccountID != "dbid:fake-account" || tf.Token.RefreshToken != tok.RefreshToken ||
		tf.Token.AccessToken != tok.AccessToken || !tf.Token.Expiry.Equal(tok.Expiry) {
		t.Fatalf("loaded %+v %+v", tf, tf.Token)
	}
	a, err := dropbox.New(dropbox.Options{Root: "/v", APIBase: srv.URL, ContentBase: srv.URL, TokenURL: srv.TokenURL(),
		AppKey: tf.AppKey, Token: tf.Token})
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
	if err := dropbox.RemoveToken(path); err != nil {
		t.Fatal(err)
	}
	if err := dropbox.RemoveToken(path); err != nil {
		t.Fatal(err)
	}
	if _, err := dropbox.LoadToken(path); !errors.Is(err, dropbox.ErrNoToken) {
		t.Fatalf("load after remove: %v", err)
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

func TestTokenPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/vaultdb/dropbox-token.json"},
		{map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/home/u"}, "/home/u/.config/vaultdb/dropbox-token.json"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.config/vaultdb/dropbox-token.json"},
		{map[string]string{}, ""},
	} {
		got, err := dropbox.TokenPath(env(tt.env))
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("TokenPath(%v) = %q, %v", tt.env, got, err)
		}
	}
}

func TestLoadTokenChecks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	if err := dropbox.SaveToken(path, &dropbox.TokenFile{Token: &oauth2.Token{RefreshToken: "r"}}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := dropbox.LoadToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable token file: %v", err)
	}
	os.WriteFile(path, []byte("{broken"), 0o600)
	os.Chmod(path, 0o600)
	if _, err := dropbox.LoadToken(path); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("broken token file: %v", err)
	}
	os.WriteFile(path, []byte(`{"note":"x"}`), 0o600)
	if _, err := dropbox.LoadToken(path); !errors.Is(err, dropbox.ErrNoToken) {
		t.Fatalf("empty token file: %v", err)
	}
	if _, err := dropbox.LoadToken(filepath.Join(dir, "none")); !errors.Is(err, dropbox.ErrNoToken) || !strings.Contains(err.Error(), "vaultdb login dropbox") {
		t.Fatalf("missing token file: %v", err)
	}
	if err := dropbox.SaveToken(path, nil); err == nil {
		t.Fatal("saved nil")
	}
}
