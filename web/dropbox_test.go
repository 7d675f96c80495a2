package web

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
)

// TestBrowserDropbox: a store that the vaultdb binary created in
// dropbox:/vaultdb on the fake Dropbox opens in the page, which signs in
// itself (PKCE, redirected back with the code), reads the entry the binary
// wrote and adds one; the binary reads it.
func TestBrowserDropbox(t *testing.T) {
	b := browser(t)
	fake := dropboxtest.NewServer(t)
	pass := "a passphrase for Dropbox"
	c := newCLI(t, "dropbox:/vaultdb", pass)
	c.env = append(c.env, "VAULTDB_DROPBOX_API_URL="+fake.URL, "VAULTDB_DROPBOX_CONTENT_URL="+fake.URL,
		"VAULTDB_DROPBOX_TOKEN_URL="+fake.TokenURL(), "VAULTDB_DROPBOX_AUTH_URL="+fake.AuthURL())
	access, refresh := fake.IssueTokens()
	// What "vaultdb login dropbox" saves (e2e tests that login).
	c.writeConfig("dropbox-token.json", map[string]string{"app_key": dropboxtest.AppKey, "refresh_token": refresh, "access_token": access})
	c.run("", "init", "--iterations", "1000")
	c.run("from the command line", "set", "cli/entry")

	url := serveSite(t)
	// The site's settings name the Dropbox app and, here, the fake's URLs.
	cfg, _ := json.Marshal(map[string]any{"dropbox": map[string]string{"appKey": dropboxtest.AppKey,
		"authURL": fake.AuthURL(), "tokenURL": fake.TokenURL(), "apiBase": fake.URL, "contentBase": fake.URL}})
	shared.mu.Lock()
	err := os.WriteFile(filepath.Join(shared.siteDir, "config.json"), cfg, 0o644)
	shared.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(filepath.Join(shared.siteDir, "config.json"), []byte("{}\n"), 0o644)

	var r struct {
		PageErrors   []string
		BeforeSignIn string
		AfterSignIn  string
		AddressAfter string `json:"addressAfterSignIn"`
		Visited      []string
		Session      []string
		Where        string
		FromCLI      string
		SignedOut    string
		SessionAfter []string
		// The tab's sign-in with its access token made expired, and after
		// the unlock that refreshed it.
		TokenBefore, TokenAfter struct {
			AccessToken, RefreshToken string
			Expiry, Now               float64
		}
	}
	b.run(t, &r, "dropbox.mjs", map[string]string{"store": "dropbox:/vaultdb", "passphrase": pass,
		"readPath": "/cli/entry", "writePath": "web/entry", "writeValue": "from the page"}, url, artifactDir(t, "dropbox-*.png"))
	if len(r.PageErrors) > 0 {
		t.Errorf("uncaught errors in the page: %v", r.PageErrors)
	}
	if r.BeforeSignIn != "Not signed in to Dropbox." {
		t.Errorf("before the sign-in the page says %q", r.BeforeSignIn)
	}
	if !slices.Contains(r.Visited, fake.AuthURL()) {
		t.Errorf("the page never went to the authorisation page (visited %v)", r.Visited)
	}
	if !strings.Contains(r.AfterSignIn, "Signed in to Dropbox") || strings.Contains(r.AddressAfter, "code=") {
		t.Errorf("after the sign-in the page says %q at %q (the code must leave the address)", r.AfterSignIn, r.AddressAfter)
	}
	if slices.Contains(r.Session, "vaultdb:pending") {
		t.Errorf("the pending sign-in (with its verifier) was left in sessionStorage: %v", r.Session)
	}
	if r.Where != "dropbox:/vaultdb" {
		t.Errorf("the page opened %q", r.Where)
	}
	if a, b := r.TokenAfter, r.TokenBefore; a.AccessToken == "" || a.AccessToken == b.AccessToken || a.RefreshToken != b.RefreshToken || a.Expiry <= a.Now {
		t.Errorf("after the unlock refreshed an expired access token, the tab keeps %+v (before: %+v); want a new access token, valid, with the same refresh token",
			redactedToken(a.AccessToken, a.RefreshToken, a.Expiry, a.Now), redactedToken(b.AccessToken, b.RefreshToken, b.Expiry, b.Now))
	}
	if r.FromCLI != "from the command line" {
		t.Errorf("the page shows %q for the entry the command line wrote", r.FromCLI)
	}
	if got := c.run("", "get", "web/entry"); got != "from the page\n" {
		t.Errorf("vaultdb get web/entry = %q, want the page's entry", got)
	}
	if n := fake.Stats().Requests[dropboxtest.Upload]; n == 0 {
		t.Errorf("no upload reached the fake")
	}
	// Sign out revokes at Dropbox; the command line's own sign-in is
	// another one and still works.
	if r.SignedOut != "Signed out of Dropbox: the sign-in is revoked." || len(r.SessionAfter) != 0 {
		t.Errorf("sign out says %q and leaves %v in sessionStorage", r.SignedOut, r.SessionAfter)
	}
	if n := fake.Stats().Requests[dropboxtest.Revoke]; n != 1 {
		t.Errorf("%d revoke requests reached the fake, want 1", n)
	}
	if got := c.run("", "get", "cli/entry"); got != "from the command line\n" {
		t.Errorf("after the page signed out, vaultdb get cli/entry = %q", got)
	}
}

// redactedToken describes a token without its secrets, for a test message.
func redactedToken(access, refresh string, expiry, now float64) string {
	return fmt.Sprintf("{access token of %d bytes, refresh token of %d bytes, expires in %.0f s}", len(access), len(refresh), (expiry-now)/1000)
}
