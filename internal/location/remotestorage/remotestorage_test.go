package remotestorage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/internal/location"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":                   "alice@example.com/vaultdb",
		"alice@Example.COM/":                  "alice@example.com/vaultdb",
		"alice@example.com/vaultdb":           "alice@example.com/vaultdb",
		"alice@127.0.0.1:8000/vaultdb/work/":  "alice@127.0.0.1:8000/vaultdb/work",
		"a.b_c-d@host.example/vaultdb/a/b.c-": "a.b_c-d@host.example/vaultdb/a/b.c-",
	} {
		got, err := parse(in)
		if err != nil || got != want {
			t.Errorf("parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"alice":                          "not a remoteStorage address",
		"alice@example.com/other":        "must be vaultdb or inside it",
		"alice@example.com/vaultdb/../x": "may contain only",
		"alice@example.com/vaultdb//x":   "may contain only",
		"alice@exa mple.com":             "not a host name",
	} {
		_, err := parse(in)
		if !errors.Is(err, location.ErrUsage) || !strings.Contains(err.Error(), msg) {
			t.Errorf("parse(%q): err = %v, want a usage error with %q", in, err, msg)
		}
	}
}

func env(t *testing.T) *location.Env {
	return &location.Env{Getenv: func(string) string { return "" }, ConfigDir: filepath.Join(t.TempDir(), "vaultdb"), ErrOut: &strings.Builder{}}
}

func TestTokenFile(t *testing.T) {
	e := env(t)
	path, _ := tokenPath(e)
	if _, err := open(context.Background(), e, "alice@example.com/vaultdb"); !errors.Is(err, location.ErrNotSignedIn) {
		t.Fatalf("open without a sign-in: %v", err)
	}
	tf := &tokenFile{Accounts: map[string]signIn{"alice@example.com": {AccessToken: "tok", StorageRoot: "https://example.com/storage/alice"}}}
	if err := saveTokens(path, tf); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", st.Mode(), err)
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v", st.Mode())
	}
	if _, err := open(context.Background(), e, "alice@example.com/vaultdb"); err != nil {
		t.Fatalf("open: %v", err)
	}
	if _, err := open(context.Background(), e, "bob@example.com/vaultdb"); !errors.Is(err, location.ErrNotSignedIn) {
		t.Fatalf("open of another account: %v", err)
	}
	os.Chmod(path, 0o640)
	if _, err := open(context.Background(), e, "alice@example.com/vaultdb"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("open with a group-readable token file: %v", err)
	}
	os.Remove(path)
	os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), path)
	if _, err := loadTokens(path); err == nil {
		t.Errorf("a symlinked token file was followed")
	}
}

func TestCallback(t *testing.T) {
	grants := make(chan grant, 4)
	srv := httptest.NewServer(nil)
	defer srv.Close()
	cb := &callback{state: "st4te", origin: srv.URL, grants: grants}
	srv.Config.Handler = cb
	post := func(origin, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("http://evil.example", "access_token=a&state=st4te"); c != http.StatusForbidden {
		t.Errorf("post from another origin: %d", c)
	}
	if c := post(srv.URL, "access_token=a&state=other"); c != http.StatusBadRequest {
		t.Errorf("post with another state: %d", c)
	}
	if len(grants) != 0 {
		t.Fatalf("a rejected answer was taken")
	}
	if c := post(srv.URL, "access_token=a%2Bb%2F%3D&token_type=bearer&state=st4te"); c != 200 {
		t.Errorf("post: %d", c)
	}
	if g := <-grants; g.err != nil || g.token != "a+b/=" {
		t.Errorf("grant = %+v", g)
	}
	if c := post("", "error=access_denied&error_description=no&state=st4te"); c != 200 {
		t.Errorf("post of a denial: %d", c)
	}
	if g := <-grants; g.err == nil || !strings.Contains(g.err.Error(), "not granted") {
		t.Errorf("denial = %+v", g)
	}
	resp, err := http.Get(srv.URL + "/callback")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("callback page: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestLogout(t *testing.T) {
	e := env(t)
	if err := logout(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.ErrOut.(*strings.Builder).String(), "nothing to do") {
		t.Errorf("logout without a sign-in: %q", e.ErrOut)
	}
}
