// Package rstest starts real remoteStorage servers for tests, on 127.0.0.1
// at free ports: armadietto 0.6.6 (its classic server, sign-ups allowed) and
// remotestorage-server 0.5.11 in a small in-memory node server. Both come
// from npm, pinned in testdata/rs-servers/package-lock.json and installed
// there with `make rs-servers` (and by .ci/run).
//
// Servers start on first use, once per test binary; call Shutdown from
// TestMain after m.Run:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		rstest.Shutdown()
//		os.Exit(code)
//	}
//
// When node or the installed packages are missing, Get skips the test with
// a message, or fails it when the environment variable CI is set.
package rstest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters/remotestorage"
)

// Kind names a server.
type Kind string

const (
	// Armadietto is armadietto's classic server, storing files on disk.
	Armadietto Kind = "armadietto"
	// RSServer is remotestorage-server in an in-memory node server.
	RSServer Kind = "remotestorage-server"
)

// Kinds are all servers, for tests that run against each.
var Kinds = []Kind{Armadietto, RSServer}

// Scope is the OAuth scope of the tokens NewUser returns.
const Scope = "vaultdb:rw"

// Server is a running server.
type Server struct {
	Kind Kind
	// Host is 127.0.0.1:PORT, the host part of the server's accounts.
	Host string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	dir    string // armadietto's storage
	stderr *lockedBuffer
	done   chan struct{}
	users  atomic.Int64
}

var (
	mu      sync.Mutex
	started = map[Kind]*Server{}
	failed  = map[Kind]error{}
)

// Dir returns testdata/rs-servers of the module this package is in.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <module>/adapters/remotestorage/rstest/rstest.go.
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "rs-servers")
}

// Available reports why the servers cannot be started, or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not installed")
	}
	for _, pkg := range []string{"armadietto", "remotestorage-server"} {
		if _, err := os.Stat(filepath.Join(Dir(), "node_modules", pkg, "package.json")); err != nil {
			return fmt.Errorf("%s is not installed in testdata/rs-servers (run `make rs-servers` once)", pkg)
		}
	}
	return nil
}

// Get returns the running server of kind k, starting it on first use. It
// skips t when the servers are not installed, or fails it when CI is set.
func Get(t testing.TB, k Kind) *Server {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("remoteStorage servers needed: %v", err)
		}
		t.Skipf("skipping: remoteStorage servers needed: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if s := started[k]; s != nil {
		return s
	}
	if err := failed[k]; err != nil {
		t.Fatalf("%s did not start: %v", k, err)
	}
	s, err := Start(k)
	if err != nil {
		failed[k] = err
		t.Fatalf("%s did not start: %v", k, err)
	}
	started[k] = s
	return s
}

// Shutdown stops every server Get started.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	for k, s := range started {
		s.Close()
		delete(started, k)
	}
}

// Start starts a server of kind k. Close stops it.
func Start(k Kind) (*Server, error) {
	s := &Server{Kind: k, stderr: &lockedBuffer{}, done: make(chan struct{})}
	var args []string
	switch k {
	case Armadietto:
		dir, err := os.MkdirTemp("", "vaultdb-armadietto-")
		if err != nil {
			return nil, err
		}
		s.dir = dir
		args = []string{"armadietto.js", dir}
	case RSServer:
		args = []string{"rss.js"}
	default:
		return nil, fmt.Errorf("unknown server kind %q", k)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	cmd.Stderr = s.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd, s.stdin = cmd, stdin
	go func() { cmd.Wait(); close(s.done) }()

	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		var p struct{ Port int }
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.Port <= 0 {
			s.Close()
			return nil, fmt.Errorf("%s did not say its port (%q); stderr: %s", k, strings.TrimSpace(l), s.stderr.tail())
		}
		s.Host = fmt.Sprintf("127.0.0.1:%d", p.Port)
	case <-time.After(30 * time.Second):
		s.Close()
		return nil, fmt.Errorf("%s did not start within 30s; stderr: %s", k, s.stderr.tail())
	}
	return s, nil
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	s.stdin.Close() // the server exits when its stdin closes
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Stderr returns the end of what the server wrote to stderr.
func (s *Server) Stderr() string { return s.stderr.tail() }

// Account returns user's address on the server.
func (s *Server) Account(user string) string { return user + "@" + s.Host }

// Password is the password of every armadietto account SignUp creates.
const Password = "test password 1"

// SignUp creates a fresh account and returns its name. (The other server
// has no accounts: any name works there.)
func (s *Server) SignUp(ctx context.Context) (string, error) {
	user := fmt.Sprintf("u%d-%d", os.Getpid()%100000, s.users.Add(1))
	if s.Kind != Armadietto {
		return user, nil
	}
	r, err := postForm(ctx, noRedirects, "http://"+s.Host+"/signup", url.Values{
		"username": {user}, "email": {user + "@example.com"}, "password": {Password}})
	if err != nil {
		return "", err
	}
	r.Body.Close()
	if r.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("signup of %s: status %d", user, r.StatusCode)
	}
	return user, nil
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Approve does in the OAuth dialog at authURL (an implicit-grant request:
// the server's dialog URL with redirect_uri, scope, client_id, state) what
// the user would do in a browser: on armadietto it posts the dialog's form
// with user's password, on the other server it opens the dialog, which
// grants at once. It returns where the server redirects the browser: the
// redirect_uri with the token in the fragment.
func (s *Server) Approve(ctx context.Context, user, authURL string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	var resp *http.Response
	switch s.Kind {
	case Armadietto:
		form := u.Query()
		form.Set("username", user)
		form.Set("password", Password)
		resp, err = postForm(ctx, noRedirects, "http://"+s.Host+"/oauth", form)
	default:
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil); err == nil {
			resp, err = noRedirects.Do(req)
		}
	}
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("the OAuth dialog answered %d, want a 302 redirect", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// AuthURL returns an implicit-grant request for user's account with scope
// vaultdb:rw, redirecting to redirect.
func (s *Server) AuthURL(ctx context.Context, user, redirect string) (string, error) {
	ep, err := s.Endpoints(ctx, user)
	if err != nil {
		return "", err
	}
	q := url.Values{"client_id": {"http://127.0.0.1"}, "redirect_uri": {redirect},
		"response_type": {"token"}, "scope": {Scope}, "state": {"s1"}}
	return ep.AuthURL + "?" + q.Encode(), nil
}

// NewUser creates a fresh account and returns its name and a token with
// scope vaultdb:rw, got the way a browser would: SignUp, then Approve.
func (s *Server) NewUser(ctx context.Context) (user, token string, err error) {
	if user, err = s.SignUp(ctx); err != nil {
		return "", "", err
	}
	authURL, err := s.AuthURL(ctx, user, "http://127.0.0.1:9/callback")
	if err != nil {
		return "", "", err
	}
	loc, err := s.Approve(ctx, user, authURL)
	if err != nil {
		return "", "", err
	}
	token, err = TokenFromLocation(loc)
	return user, token, err
}

// TokenFromLocation returns the access token of an OAuth implicit-grant
// redirect target (...#access_token=...).
func TokenFromLocation(location string) (string, error) {
	loc, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	// The raw fragment: a decoded one would turn %2B into '+', which
	// ParseQuery then reads as a space.
	frag, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		return "", err
	}
	tok := frag.Get("access_token")
	if tok == "" {
		return "", fmt.Errorf("redirect without access_token (error %q)", frag.Get("error"))
	}
	return tok, nil
}

func postForm(ctx context.Context, c *http.Client, u string, v url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Endpoints discovers user's storage with WebFinger.
func (s *Server) Endpoints(ctx context.Context, user string) (*remotestorage.Endpoints, error) {
	acct, err := remotestorage.ParseAccount(s.Account(user))
	if err != nil {
		return nil, err
	}
	return remotestorage.Discover(ctx, nil, acct)
}

// Store is a folder of a fresh account on a server, with its token.
type Store struct {
	Server  *Server
	User    string
	Token   string
	Folder  string // such as "vaultdb"
	Root    string // the folder's URL
	Account string // user@host
}

// NewStore creates an account and returns its folder "vaultdb/<name>"
// (name may be "" for "vaultdb"); it fails t if it cannot.
func (s *Server) NewStore(t testing.TB, name string) *Store {
	t.Helper()
	st, err := s.CreateStore(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// CreateStore creates an account and returns its folder "vaultdb/<name>".
func (s *Server) CreateStore(ctx context.Context, name string) (*Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	user, tok, err := s.NewUser(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: new user: %v; stderr: %s", s.Kind, err, s.Stderr())
	}
	ep, err := s.Endpoints(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Kind, err)
	}
	folder := "vaultdb"
	if name != "" {
		folder += "/" + name
	}
	return &Store{Server: s, User: user, Token: tok, Folder: folder, Root: ep.FolderURL(folder), Account: s.Account(user)}, nil
}

// Options returns adapter options for the store.
func (st *Store) Options() remotestorage.Options {
	return remotestorage.Options{Root: st.Root, Token: st.Token}
}

// lockedBuffer keeps the last 8 KiB written to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.b.Len() > 8<<10 {
		rest := l.b.Bytes()[l.b.Len()-8<<10:]
		l.b = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (l *lockedBuffer) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}
