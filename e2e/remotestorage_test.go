package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/remotestorage"

	"github.com/vaultdb/vaultdb/adapters/remotestorage/rstest"
)

// rsStore is a store at rs:USER@127.0.0.1:PORT/vaultdb on a real server,
// with its own config directory for the token file.
type rsStore struct {
	*store
	srv       *rstest.Server
	user      string
	tokenFile string
}

func newRSStore(t *testing.T, k rstest.Kind) *rsStore {
	t.Helper()
	srv := rstest.Get(t, k)
	user, err := srv.SignUp(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	config := t.TempDir()
	s := newStore(t)
	s.dir = "rs:" + srv.Account(user)
	s.env = append(s.env, "XDG_CONFIG_HOME="+config, "VAULTDB_NO_BROWSER=1")
	return &rsStore{store: s, srv: srv, user: user, tokenFile: filepath.Join(config, "vaultdb", "remotestorage-token.json")}
}

// login runs "vaultdb login remotestorage USER@HOST": it reads the dialog's
// address from stderr and approves it at the server as the user would in a
// browser. With paste, the address the browser ends at is pasted on stdin;
// otherwise the test does what the callback page's script does: it loads
// the page and posts the fragment back to the listener.
func (r *rsStore) login(paste bool) result {
	t := r.t
	t.Helper()
	c := exec.Command(bin, "login", "remotestorage", r.srv.Account(r.user))
	c.Env = r.env
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
	if !paste {
		stdin.Close() // no terminal and nothing to paste: only the browser answers
	}
	var errOut strings.Builder
	sc := bufio.NewScanner(stderr)
	done := false
	for sc.Scan() {
		line := sc.Text()
		errOut.WriteString(line + "\n")
		u := strings.TrimSpace(line)
		if done || !strings.HasPrefix(u, "http://"+r.srv.Host+"/") || !strings.Contains(u, "response_type=token") {
			continue
		}
		done = true
		loc, err := r.srv.Approve(context.Background(), r.user, u)
		if err != nil {
			t.Errorf("approving %s: %v", u, err)
			continue
		}
		if paste {
			io.WriteString(stdin, loc+"\n")
			stdin.Close()
		} else if err := browse(loc); err != nil {
			t.Errorf("callback page: %v", err)
		}
	}
	err = c.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Errorf("login printed no dialog address: %q", errOut.String())
	}
	return result{code, out.String(), errOut.String()}
}

// browse does what a browser does at the redirect target loc: it loads the
// page (without the fragment, which browsers keep to themselves) and runs
// its script, which posts the fragment to /token.
func browse(loc string) error {
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	frag := u.EscapedFragment()
	u.Fragment, u.RawFragment = "", ""
	resp, err := http.Get(u.String())
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte(`fetch("/token"`)) {
		return fmt.Errorf("GET %s: %d %.80q", u, resp.StatusCode, page)
	}
	origin := u.Scheme + "://" + u.Host
	req, _ := http.NewRequest(http.MethodPost, origin+"/token", strings.NewReader(frag))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "text/plain")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(msg), "Signed in") {
		return fmt.Errorf("POST /token: %d %q", resp.StatusCode, msg)
	}
	return nil
}

// TestRemoteStorage runs the command line against both real servers: sign
// in (through the loopback listener on one, by pasting on the other), then
// init, set, get, ls, rm -r, totp, export and import, logout.
func TestRemoteStorage(t *testing.T) {
	t.Parallel()
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			r := newRSStore(t, k)

			// Before signing in: a clear error naming the command to run.
			check(t, r.run("", nil, "ls"), 6, "", "vaultdb login remotestorage "+r.srv.Account(r.user))

			res := r.login(k == rstest.RSServer)
			check(t, res, 0, "", "Signed in to "+r.srv.Account(r.user))
			st, err := os.Stat(r.tokenFile)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("token file %s: %v, mode %v", r.tokenFile, err, st.Mode())
			}

			check(t, r.run("", nil, "ls"), 5, "", "vaultdb init")
			r.must("", "init", "--iterations", "1000", "--shards", "3")
			check(t, r.run("", nil, "init", "--iterations", "1000"), 5, "", "already exists")
			r.must("correct horse\n", "set", "github/password")
			r.must("line 1\nline 2\n", "set", "/mail/work/password")
			r.must(`{"user":"octocat","host":"db.example"}`, "set", "--json", "servers/db")
			check(t, r.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
			check(t, r.run("", nil, "get", "servers/db", "--field", "host"), 0, "db.example\n", "")
			check(t, r.run("", nil, "ls"), 0, "github/\nmail/\nservers/\n", "")
			check(t, r.run("", nil, "ls", "-r"), 0, "/github/password\n/mail/work/password\n/servers/db\n", "")
			r.must("", "rm", "-r", "-f", "mail")
			check(t, r.run("", nil, "ls", "-r"), 0, "/github/password\n/servers/db\n", "")
			check(t, r.run("", nil, "get", "mail/work/password"), 3, "", "no such entry")

			uri := "otpauth://totp/GitHub:octocat?secret=" + e2eSecret + "&issuer=GitHub"
			r.must(uri+"\n", "totp", "add", "github/totp")
			check(t, r.run("", nil, "totp", "github/totp", "--time", "1700000000"), 0, totpCode(t, e2eSecret, sha1.New, 1700000000, 30, 6)+"\n", "")

			exp := r.must("", "export")
			if !strings.Contains(exp, `"/github/password"`) || !strings.Contains(exp, "octocat") {
				t.Errorf("export = %q", exp)
			}
			local := newStore(t)
			local.must("", "init", "--iterations", "1000")
			check(t, local.run(exp, nil, "import", "-"), 0, "", "3 added")
			if again := local.must("", "export"); again != exp {
				t.Errorf("export of the local copy differs:\n%s\nwant\n%s", again, exp)
			}
			// And back, into a second folder of the account.
			r2 := &store{t: t, dir: r.dir + "/vaultdb/copy", env: r.env}
			r2.must("", "init", "--iterations", "1000", "--shards", "2")
			check(t, r2.run(exp, nil, "import", "-"), 0, "", "3 added")
			if again := r2.must("", "export"); again != exp {
				t.Errorf("export of the copy on the server differs")
			}
			// The other spelling of the scheme names the same store.
			alias := &store{t: t, dir: "remotestorage:" + strings.TrimPrefix(r.dir, "rs:"), env: r.env}
			check(t, alias.run("", nil, "get", "github/password"), 0, "correct horse\n", "")

			// A reshard on the server: the old layout's sealed files stay
			// in the folder, and fsck, which lists the folder there, knows
			// them.
			check(t, r.run("", nil, "reshard", "5"), 0, "", "from 3 to 5 shards")
			check(t, r.run("", nil, "get", "github/password"), 0, "correct horse\n", "")
			if res := r.run("", nil, "fsck"); res.code != 0 || !strings.Contains(res.out, "5 shards, 3 entries") {
				t.Errorf("fsck after the reshard: %+v", res)
			}
			// A shard file the config does not name (an altered shard
			// count looks like this): fsck lists the folder and reports it.
			r.plant("shard-0000-0000")
			if res := r.run("", nil, "fsck"); res.code != 8 || !strings.Contains(res.out, "stray-shard shard-0000-0000") {
				t.Errorf("fsck with a stray shard file: %+v", res)
			}

			check(t, r.run("", nil, "logout", "remotestorage"), 0, "", "Signed out")
			if _, err := os.Stat(r.tokenFile); !os.IsNotExist(err) {
				t.Errorf("token file still there after logout: %v", err)
			}
			check(t, r.run("", nil, "get", "github/password"), 6, "", "vaultdb login remotestorage")
		})
	}
}

// TestRemoteStorageBadToken: a token the server does not know is "not
// authorised" (armadietto answers 403, the other 401), with the command
// to run.
func TestRemoteStorageBadToken(t *testing.T) {
	t.Parallel()
	for _, k := range rstest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			r := newRSStore(t, k)
			check(t, r.login(true), 0, "", "Signed in")
			data, err := os.ReadFile(r.tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(data, []byte(`"access_token": "`)) + len(`"access_token": "`)
			copy(data[i:], "XXXX")
			if err := os.WriteFile(r.tokenFile, data, 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			check(t, r.run("", nil, "ls"), 6, "", "vaultdb login remotestorage")
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("an unauthorised answer took %s: it was retried", d)
			}
		})
	}
}

// plant writes a blob into the store's folder behind vaultdb's back, with
// the token the login saved.
func (r *rsStore) plant(id string) {
	t := r.t
	t.Helper()
	raw, err := os.ReadFile(r.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Accounts map[string]struct {
			AccessToken string `json:"access_token"`
			StorageRoot string `json:"storage_root"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(raw, &tf); err != nil {
		t.Fatal(err)
	}
	acc, ok := tf.Accounts[r.srv.Account(r.user)]
	if !ok {
		t.Fatalf("no sign-in for %s in %s", r.srv.Account(r.user), r.tokenFile)
	}
	a, err := remotestorage.New(remotestorage.Options{Root: acc.StorageRoot + "/vaultdb", Token: acc.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(context.Background(), id, []byte("x"), adapters.NoRev); err != nil {
		t.Fatal(err)
	}
}
