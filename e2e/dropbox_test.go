package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
)

// dropboxStore is a store at dropbox:/vaultdb of a fake Dropbox, with its
// own config directory for the token file.
type dropboxStore struct {
	*store
	fake      *dropboxtest.Server
	tokenFile string
}

func newDropboxStore(t *testing.T) *dropboxStore {
	t.Helper()
	fake := dropboxtest.NewServer(t)
	config := t.TempDir()
	s := newStore(t)
	s.dir = "dropbox:/vaultdb"
	s.env = append(s.env,
		"XDG_CONFIG_HOME="+config,
		"VAULTDB_DROPBOX_API_URL="+fake.URL,
		"VAULTDB_DROPBOX_CONTENT_URL="+fake.URL,
		"VAULTDB_DROPBOX_TOKEN_URL="+fake.TokenURL(),
		"VAULTDB_DROPBOX_AUTH_URL="+fake.AuthURL(),
	)
	return &dropboxStore{store: s, fake: fake, tokenFile: filepath.Join(config, "vaultdb", "dropbox-token.json")}
}

// login runs "vaultdb login dropbox args..." with stdin a pipe: it reads
// the authorisation URL from stderr, approves it at the fake as the user
// would, and writes the code (through edit) to stdin.
func (d *dropboxStore) login(edit func(code string) string, args ...string) result {
	t := d.t
	t.Helper()
	c := exec.Command(bin, append([]string{"login", "dropbox"}, args...)...)
	c.Env = d.env
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	sc := bufio.NewScanner(stderr)
	approved := false
	for sc.Scan() {
		line := sc.Text()
		errOut.WriteString(line + "\n")
		if u := strings.TrimSpace(line); !approved && strings.HasPrefix(u, d.fake.AuthURL()+"?") {
			approved = true
			code, err := d.fake.Approve(u)
			if err != nil {
				t.Errorf("approving %s: %v", u, err)
			}
			if edit != nil {
				code = edit(code)
			}
			io.WriteString(stdin, code+"\n")
			stdin.Close()
		}
	}
	if !approved {
		stdin.Close()
	}
	err = c.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running vaultdb login: %v", err)
	}
	if !approved && code == 0 {
		t.Errorf("login printed no authorisation URL: %q", errOut.String())
	}
	return result{code, out.String(), errOut.String()}
}

type tokenFile struct {
	AppKey       string `json:"app_key"`
	RefreshToken string `json:"refresh_token"`
	AccessToken  string `json:"access_token"`
}

func (d *dropboxStore) token() tokenFile {
	d.t.Helper()
	data, err := os.ReadFile(d.tokenFile)
	if err != nil {
		d.t.Fatal(err)
	}
	var tf tokenFile
	if err := json.Unmarshal(data, &tf); err != nil {
		d.t.Fatal(err)
	}
	return tf
}

func (d *dropboxStore) mustLogin() {
	d.t.Helper()
	r := d.login(nil, "--app-key", dropboxtest.AppKey)
	check(d.t, r, 0, "", "Signed in to Dropbox")
}

func TestDropboxWorkflow(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)

	// Login: the URL on stderr, the code on stdin, the token in a 0600 file.
	r := d.login(nil, "--app-key", dropboxtest.AppKey)
	check(t, r, 0, "", "Signed in to Dropbox")
	for _, want := range []string{d.tokenFile, "secret", "vaultdb logout dropbox"} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("login output lacks %q: %q", want, r.errOut)
		}
	}
	st, err := os.Stat(d.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	if st, err := os.Stat(filepath.Dir(d.tokenFile)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("token directory: %v, %v", st.Mode(), err)
	}
	tf := d.token()
	if tf.AppKey != dropboxtest.AppKey || tf.RefreshToken == "" || strings.Contains(r.errOut, tf.RefreshToken) || strings.Contains(r.errOut, tf.AccessToken) {
		t.Errorf("token file %+v, login output %q", tf, r.errOut)
	}

	// The store commands on dropbox:/vaultdb.
	d.must("", "init", "--iterations", "1000", "--shards", "3")
	check(t, d.run("", nil, "init", "--iterations", "1000"), 5, "", "already exists")
	if _, _, _, ok := d.fake.File("/vaultdb/config"); !ok {
		t.Fatalf("no /vaultdb/config in the fake Dropbox: %v", keys(d.fake.Files()))
	}
	d.must("correct horse\n", "set", "github/password")
	d.must(`{"user":"octocat"}`, "set", "--json", "servers/db")
	d.must("x", "set", "tmp/scratch")
	check(t, d.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
	check(t, d.run("", nil, "get", "servers/db", "--field", "user"), 0, "octocat\n", "")
	check(t, d.run("", nil, "ls"), 0, "github/\nservers/\ntmp/\n", "")
	d.must("", "rm", "-f", "tmp/scratch")
	check(t, d.run("", nil, "ls", "-r"), 0, "/github/password\n/servers/db\n", "")
	check(t, d.run("", nil, "get", "tmp/scratch"), 3, "", "no such entry")
	check(t, d.run("", []string{"VAULTDB_PASSPHRASE=wrong"}, "get", "github/password"), 4, "", "incorrect passphrase")
	for name, data := range d.fake.Files() {
		if bytes.Contains(data, []byte("correct horse")) || bytes.Contains(data, []byte("octocat")) {
			t.Errorf("%s holds plaintext", name)
		}
	}

	// A reshard in Dropbox: fsck lists the folder, knows the old layout's
	// sealed files, and reports a shard file the config does not name.
	check(t, d.run("", nil, "reshard", "5"), 0, "", "from 3 to 5 shards")
	check(t, d.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
	if r := d.run("", nil, "fsck"); r.code != 0 || !strings.Contains(r.out, "5 shards, 2 entries") {
		t.Errorf("fsck after the reshard: %+v", r)
	}
	d.fake.Put("/vaultdb/shard-0000-0000", []byte("x"))
	if r := d.run("", nil, "fsck"); r.code != 8 || !strings.Contains(r.out, "stray-shard shard-0000-0000") {
		t.Errorf("fsck with a stray shard file: %+v", r)
	}
	d.fake.Delete("/vaultdb/shard-0000-0000")

	// VAULTDB_STORE works as --store does.
	c := exec.Command(bin, "get", "github/password")
	c.Env = append(append([]string(nil), d.env...), "VAULTDB_STORE=dropbox:/vaultdb")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err := c.Output(); err != nil || string(out) != "correct horse\n" {
		t.Errorf("VAULTDB_STORE: %q, %v", out, err)
	}

	// --trace shows the requests, never the secret or a token.
	r = d.run("", nil, "--trace", "get", "github/password")
	check(t, r, 0, "correct horse\n", "trace: summary:")
	if strings.Contains(r.errOut, "correct horse") || strings.Contains(r.errOut, tf.AccessToken) {
		t.Errorf("trace leaks: %q", r.errOut)
	}

	// Logout revokes the sign-in and deletes the file.
	saved, _ := os.ReadFile(d.tokenFile)
	check(t, d.run("", nil, "logout", "dropbox"), 0, "", "Signed out of Dropbox")
	if _, err := os.Stat(d.tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file still there: %v", err)
	}
	if n := d.fake.Stats().Requests[dropboxtest.Revoke]; n != 1 {
		t.Errorf("%d revoke requests, want 1", n)
	}
	check(t, d.run("", nil, "ls"), 6, "", `run "vaultdb login dropbox"`)
	// The revoked sign-in no longer works, even from a copy of the file.
	os.WriteFile(d.tokenFile, saved, 0o600)
	check(t, d.run("", nil, "ls"), 6, "", "vaultdb login dropbox")
	check(t, d.run("", nil, "logout", "dropbox"), 0, "", "Signed out")
	check(t, d.run("", nil, "logout", "dropbox"), 0, "", "Not signed in")

	// Signing in again gives access to the same store.
	d.mustLogin()
	check(t, d.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestDropboxNotSignedIn(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	check(t, d.run("", nil, "ls"), 6, "", `not signed in to Dropbox`)
	check(t, d.run("", nil, "init", "--iterations", "1000"), 6, "", `run "vaultdb login dropbox"`)
	check(t, d.run("x", nil, "set", "a"), 6, "", `run "vaultdb login dropbox"`)
	if n := len(d.fake.Stats().Requests); n != 0 {
		t.Errorf("requests without a sign-in: %v", d.fake.Stats().Requests)
	}
	// A token file others may read is refused.
	d.mustLogin()
	os.Chmod(d.tokenFile, 0o644)
	check(t, d.run("", nil, "ls"), 6, "", "chmod 600")
	os.Chmod(d.tokenFile, 0o600)

	// A store location that is not a folder path.
	check(t, d.run("", nil, "--store", "dropbox:vaultdb", "ls"), 2, "", "dropbox:/FOLDER")
	// Tokens never go to a remote host in the clear.
	check(t, d.run("", []string{"VAULTDB_DROPBOX_CONTENT_URL=http://example.com"}, "ls"), 2, "", "https")
}

func TestDropboxLoginErrors(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	// No app key.
	check(t, d.run("", nil, "login", "dropbox"), 2, "", "--app-key")
	check(t, d.run("", nil, "login"), 2, "", "vaultdb login dropbox")
	check(t, d.run("", nil, "login", "gdrive"), 2, "", `unknown service "gdrive": the services are dropbox`)
	// A wrong code: nothing is saved.
	r := d.login(func(code string) string { return code + "x" }, "--app-key", dropboxtest.AppKey)
	checkLogin(t, r, 6, "did not accept the code")
	if _, err := os.Stat(d.tokenFile); !os.IsNotExist(err) {
		t.Errorf("a token file was saved: %v", err)
	}
	// No code at all (empty stdin).
	checkLogin(t, d.login(func(string) string { return "" }, "--app-key", dropboxtest.AppKey), 2, "no code")
	// An app key Dropbox does not know.
	checkLogin(t, d.run("code-123\n", []string{"VAULTDB_DROPBOX_APP_KEY=other-key"}, "login", "dropbox"), 6, "app key")
	// The app key from the environment, saved in the token file.
	d.env = append(d.env, "VAULTDB_DROPBOX_APP_KEY="+dropboxtest.AppKey)
	check(t, d.login(nil), 0, "", "Signed in")
	if tf := d.token(); tf.AppKey != dropboxtest.AppKey {
		t.Errorf("app key %q saved", tf.AppKey)
	}
}

func TestDropboxFaults(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "2")
	d.must("s3cret", "set", "x")

	// A 429 is waited out and retried without the user noticing.
	before := d.fake.Stats()
	d.fake.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Download, Kind: dropboxtest.RateLimitJSON, RetryAfter: 1})
	check(t, d.run("", nil, "get", "x"), 0, "s3cret\n", "")
	after := d.fake.Stats()
	if d.fake.PendingFaults() != 0 || after.Faults != before.Faults+1 {
		t.Errorf("the 429 was not injected: %+v", after)
	}
	// Plain-text 429 and a 500 on an upload, under --trace: one event per
	// logical request, the retries inside it.
	d.fake.Inject(
		dropboxtest.Fault{Endpoint: dropboxtest.Upload, Kind: dropboxtest.RateLimitText, RetryAfter: 1},
		dropboxtest.Fault{Endpoint: dropboxtest.Upload, Kind: dropboxtest.ServerError},
	)
	r := d.run("v2", nil, "--trace", "set", "x")
	check(t, r, 0, "", "trace: summary:")
	if strings.Contains(r.errOut, "  error") || !strings.Contains(r.errOut, " 0 errors") || d.fake.PendingFaults() != 0 {
		t.Errorf("trace shows an error, or the faults did not fire: %q", r.errOut)
	}
	check(t, d.run("", nil, "get", "x"), 0, "v2\n", "")

	// An expired access token is refreshed, and the new one saved.
	old := d.token()
	d.fake.ExpireAccessTokens()
	check(t, d.run("", nil, "get", "x"), 0, "v2\n", "")
	if nt := d.token(); nt.AccessToken == old.AccessToken || nt.RefreshToken != old.RefreshToken || nt.AppKey != old.AppKey {
		t.Errorf("token after refresh: %+v (was %+v)", nt, old)
	}
	if st, _ := os.Stat(d.tokenFile); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v after refresh", st.Mode().Perm())
	}
	refreshes := d.fake.Stats().Refreshes
	check(t, d.run("", nil, "get", "x"), 0, "v2\n", "")
	if n := d.fake.Stats().Refreshes; n != refreshes {
		t.Errorf("the saved access token was not used: %d refreshes, want %d", n, refreshes)
	}

	// Expired and not refreshable: the user has to sign in again.
	d.fake.ExpireAccessTokens()
	d.fake.RevokeRefreshTokens()
	r = d.run("", nil, "get", "x")
	check(t, r, 6, "", "vaultdb login dropbox")
	if tf := d.token(); strings.Contains(r.errOut, tf.RefreshToken) || strings.Contains(r.errOut, tf.AccessToken) {
		t.Errorf("error shows a token: %q", r.errOut)
	}
	check(t, d.run("v3", nil, "set", "x"), 6, "", "vaultdb login dropbox")

	// A failed revoke still deletes the local sign-in, and says so.
	d.mustLogin()
	check(t, d.run("", nil, "get", "x"), 0, "v2\n", "")
	d.fake.Inject(dropboxtest.Fault{Endpoint: dropboxtest.Revoke, Kind: dropboxtest.ServerError})
	r = d.run("", nil, "logout", "dropbox")
	if r.code != 0 || !strings.Contains(r.errOut, "not revoked") || !strings.Contains(r.errOut, "Connected apps") || !strings.Contains(r.errOut, "Deleted the local sign-in") {
		t.Errorf("logout with a failing revoke: %d %q", r.code, r.errOut)
	}
	if _, err := os.Stat(d.tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file still there: %v", err)
	}
}

// TestDropboxUnavailable checks that a Dropbox that keeps failing gives
// up with the "try again later" exit code.
func TestDropboxUnavailable(t *testing.T) {
	t.Parallel()
	d := newDropboxStore(t)
	d.mustLogin()
	d.must("", "init", "--iterations", "1000", "--shards", "1")
	var faults []dropboxtest.Fault
	for range 10 {
		faults = append(faults, dropboxtest.Fault{Endpoint: dropboxtest.Download, Kind: dropboxtest.ServerError})
	}
	d.fake.Inject(faults...)
	r := d.run("", nil, "ls")
	check(t, r, 7, "", "gave up after")
	if !strings.Contains(r.errOut, "try again later") {
		t.Errorf("no advice: %q", r.errOut)
	}
}

// checkLogin checks a failed login: the instructions, then the error as
// one last line.
func checkLogin(t *testing.T, r result, code int, errSub string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.errOut, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != code || !strings.HasPrefix(last, "vaultdb: ") || !strings.Contains(last, errSub) {
		t.Errorf("login: exit %d, want %d with %q; stderr %q", r.code, code, errSub, r.errOut)
	}
}
