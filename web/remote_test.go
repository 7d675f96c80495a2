package web

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
)

// cli runs the vaultdb binary with a config directory of its own and the
// passphrase in a file (never in argv or the environment).
type cli struct {
	t        *testing.T
	bin      string
	store    string
	config   string
	passFile string
	env      []string
}

func newCLI(t *testing.T, store, passphrase string) *cli {
	t.Helper()
	dir := t.TempDir()
	c := &cli{t: t, bin: vaultdbBinary(t), store: store, config: filepath.Join(dir, "config"), passFile: filepath.Join(dir, "pass")}
	c.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + c.config}
	if err := os.WriteFile(c.passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs vaultdb --store STORE --passphrase-file F args with stdin and
// returns stdout; a failure fails the test.
func (c *cli) run(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--store", c.store, "--passphrase-file", c.passFile}, args...)...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("vaultdb %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// writeConfig writes a file of vaultdb's config directory, 0600 in 0700,
// as the sign-ins are kept.
func (c *cli) writeConfig(name string, v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	dir := filepath.Join(c.config, "vaultdb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// signInRS saves a remoteStorage sign-in for st's account, as "vaultdb
// login remotestorage" does after the OAuth dialog (e2e tests that dialog
// with the binary).
func (c *cli) signInRS(st *rstest.Store) {
	c.t.Helper()
	ep, err := st.Server.Endpoints(context.Background(), st.User)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeConfig("remotestorage-token.json", map[string]any{"accounts": map[string]any{
		st.Account: map[string]string{"access_token": st.Token, "storage_root": ep.StorageRoot},
	}})
}

// TestBrowserRemoteStorage: a store that the vaultdb binary created on
// armadietto (rs:USER@HOST/vaultdb/web) opens in the page, which signs in
// to the account itself (WebFinger and the OAuth dialog), reads the entry
// the binary wrote and adds one; the binary reads it.
func TestBrowserRemoteStorage(t *testing.T) {
	b := browser(t)
	srv := rstest.Get(t, rstest.Armadietto)
	st := srv.NewStore(t, "web")
	pass := "a passphrase for the page"
	store := "rs:" + st.Account + "/" + st.Folder
	c := newCLI(t, store, pass)
	c.signInRS(st)
	c.run("", "init", "--iterations", "1000")
	c.run("from the command line", "set", "cli/entry")

	cfg := map[string]string{
		"store": store, "serverOrigin": "http://" + srv.Host, "password": rstest.Password, "passphrase": pass,
		"readPath": "/cli/entry", "writePath": "web/entry", "writeValue": "from the page",
	}
	var r struct {
		PageErrors      []string
		Console         []string
		BeforeSignIn    string
		UnlockSignedOut string
		Dialog          string
		AfterSignIn     string
		AddressAfter    string `json:"addressAfterSignIn"`
		FromCLI         string
		Entries         []string
		WasmAtStart     []string
		Wasm            []string
	}
	b.run(t, &r, "remote.mjs", cfg, serveSite(t), artifactDir(t, "rs-*.png"))
	if len(r.PageErrors) > 0 {
		t.Errorf("uncaught errors in the page: %v", r.PageErrors)
	}
	// A read of a blob not written yet is a 404, which Chromium logs.
	t.Logf("console errors: %q", r.Console)
	if !strings.Contains(r.BeforeSignIn, "Not signed in to "+st.Account) || !strings.Contains(r.UnlockSignedOut, "Sign in to the server") {
		t.Errorf("before the sign-in the page says %q, and on unlock %q", r.BeforeSignIn, r.UnlockSignedOut)
	}
	if r.Dialog != "http://"+srv.Host+"/oauth/"+st.User {
		t.Errorf("the sign-in went to %q, not the account's OAuth dialog", r.Dialog)
	}
	if !strings.Contains(r.AfterSignIn, "Signed in to "+st.Account) || strings.Contains(r.AddressAfter, "access_token") {
		t.Errorf("after the dialog the page says %q at %q (the token must leave the address)", r.AfterSignIn, r.AddressAfter)
	}
	if r.FromCLI != "from the command line" {
		t.Errorf("the page shows %q for the entry the command line wrote (tree %v)", r.FromCLI, r.Entries)
	}
	if got := c.run("", "get", "web/entry"); got != "from the page\n" {
		t.Errorf("vaultdb get web/entry = %q, want the page's entry", got)
	}
	// The remote engine is loaded only once a remote store is chosen.
	if !slices.Equal(r.WasmAtStart, []string{"vaultdb.wasm"}) || !slices.Equal(r.Wasm, []string{"vaultdb.wasm", "vaultdb-remote.wasm"}) {
		t.Errorf("the page loaded %v at start and %v in all; want vaultdb.wasm, then vaultdb-remote.wasm for the remote store", r.WasmAtStart, r.Wasm)
	}
}
