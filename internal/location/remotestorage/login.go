package remotestorage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	rs "github.com/vaultdb/vaultdb/adapters/remotestorage"
	"github.com/vaultdb/vaultdb/internal/location"
)

// Environment variables of the sign-in.
const (
	// EnvNoBrowser, when set, stops "vaultdb login remotestorage" from
	// opening a browser; it prints the page's address only.
	EnvNoBrowser = "VAULTDB_NO_BROWSER"
)

const (
	// requestTimeout bounds each request of the sign-in.
	requestTimeout = 60 * time.Second
	// loginTimeout bounds the wait for the browser (or the pasted address).
	loginTimeout = 10 * time.Minute
)

// grant is the outcome of the authorisation dialog.
type grant struct {
	token string
	err   error
}

// login signs in to a remoteStorage account with OAuth 2's implicit grant,
// as remoteStorage apps do: the account's OAuth dialog (found with
// WebFinger) redirects the browser to a one-shot listener on 127.0.0.1
// whose page hands the token (in the address's fragment, which browsers do
// not send to servers) back to it. Without a browser on this machine, the
// user opens the dialog elsewhere and pastes the address it ends at.
func login(ctx context.Context, env *location.Env, opts location.LoginOptions) error {
	if len(opts.Args) != 1 {
		return location.Usagef("name the account: \"vaultdb login remotestorage USER@HOST\"")
	}
	if opts.AppKey != "" {
		return location.Usagef("--app-key is for Dropbox; remoteStorage needs none")
	}
	acct, err := rs.ParseAccount(opts.Args[0])
	if err != nil {
		return location.Usagef("%v", err)
	}
	path, err := tokenPath(env)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, requestTimeout)
	ep, err := rs.Discover(dctx, nil, acct)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w; check the address, or that the server is up", err)
	}
	if ep.AuthURL == "" {
		return fmt.Errorf("%s offers no OAuth dialog for %s, so vaultdb cannot sign in to it", acct.Host, acct)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cannot listen on 127.0.0.1 for the browser's answer: %w", err)
	}
	origin := "http://" + ln.Addr().String()
	state, err := randomHex(16)
	if err != nil {
		ln.Close()
		return fmt.Errorf("no randomness for the sign-in: %w", err)
	}
	grants := make(chan grant, 2)
	srv := &http.Server{Handler: &callback{state: state, origin: origin, grants: grants}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	q := url.Values{
		"redirect_uri":  {origin + "/callback"},
		"client_id":     {origin},
		"scope":         {Scope},
		"response_type": {"token"},
		"state":         {state},
	}
	sep := "?"
	if strings.Contains(ep.AuthURL, "?") {
		sep = "&"
	}
	authURL := ep.AuthURL + sep + q.Encode()
	fmt.Fprintf(env.ErrOut, "Open this page, sign in to %s and allow vaultdb access to your %q folder:\n\n  %s\n\n", acct.Host, Module, authURL)
	if openBrowser(env, authURL) {
		fmt.Fprintf(env.ErrOut, "(A browser was opened.) ")
	}
	fmt.Fprintf(env.ErrOut, "vaultdb waits for the browser to come back to %s/callback.\n"+
		"If the browser runs on another machine, paste here the address it ends up at (it starts with %s/callback#).\n", origin, origin)

	wctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	go readPasted(wctx, env, state, grants)
	var g grant
	select {
	case g = <-grants:
	case <-wctx.Done():
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("no answer from the browser within %s; run \"vaultdb login remotestorage %s\" again", loginTimeout, acct)
	}
	if g.err != nil {
		return g.err
	}
	fmt.Fprintln(env.ErrOut)

	// Check that the token opens the folder before keeping it.
	a, err := rs.New(rs.Options{Root: ep.FolderURL(Module), Token: g.token})
	if err != nil {
		return fmt.Errorf("the server sent an unusable token: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	_, _, err = a.Read(cctx, "config")
	cancel()
	if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return fmt.Errorf("signed in, but the new token does not open the %q folder of %s: %w", Module, acct, err)
	}

	tf, err := loadTokens(path)
	if err != nil {
		// A damaged or unsafe file is replaced by one holding this sign-in.
		tf = &tokenFile{Accounts: map[string]signIn{}}
	}
	tf.Accounts[acct.String()] = signIn{AccessToken: g.token, StorageRoot: ep.StorageRoot, AuthURL: ep.AuthURL, Version: ep.Version}
	if err := saveTokens(path, tf); err != nil {
		return fmt.Errorf("signed in, but cannot save the sign-in to %s: %w", path, err)
	}
	fmt.Fprintf(env.ErrOut, "Signed in to %s. The sign-in is saved in %s (mode 0600).\n"+
		"It is a secret: whoever can read that file can use your %q folder there until you revoke vaultdb's access on the server.\n"+
		"Use a store there with --store rs:%s or VAULTDB_STORE=rs:%s.\n", acct, path, Module, acct, acct)
	return nil
}

// callback serves the redirect target: a page whose script posts the
// address's fragment back, and the endpoint that takes it.
type callback struct {
	state, origin string
	grants        chan<- grant
}

const callbackPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>vaultdb sign-in</title></head>
<body style="font-family: sans-serif; margin: 3em">
<p id="m">Handing the sign-in to vaultdb&hellip;</p>
<noscript>JavaScript is off: copy this page's address from the address bar and paste it into vaultdb in the terminal.</noscript>
<script>
var frag = location.hash.slice(1);
history.replaceState(null, "", location.pathname);
fetch("/token", {method: "POST", headers: {"Content-Type": "text/plain"}, body: frag})
  .then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById("m").textContent = t; })
  .catch(function (e) { document.getElementById("m").textContent = "Could not reach vaultdb (" + e + "): paste this page's address into vaultdb in the terminal."; });
</script>
</body></html>
`

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/callback":
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; connect-src 'self'; style-src 'unsafe-inline'")
		io.WriteString(w, callbackPage)
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		if o := r.Header.Get("Origin"); o != "" && o != c.origin {
			http.Error(w, "wrong origin", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		if err != nil {
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		g, ok := parseFragment(string(body), c.state)
		if !ok {
			// Not the answer to this sign-in (no or another state): keep
			// waiting for the right one.
			http.Error(w, "This is not the answer to the sign-in vaultdb is waiting for.", http.StatusBadRequest)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if g.err != nil {
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "The sign-in failed: %v. See the terminal.", g.err)
		} else {
			io.WriteString(w, "Signed in: you can close this tab and go back to the terminal.")
		}
		select {
		case c.grants <- g:
		default:
		}
	default:
		http.NotFound(w, r)
	}
}

// parseFragment reads the fragment of the redirect (access_token=..&
// state=.., or error=..). ok is false when its state is not ours.
func parseFragment(frag, state string) (grant, bool) {
	v, err := url.ParseQuery(strings.TrimSpace(frag))
	if err != nil || subtle.ConstantTimeCompare([]byte(v.Get("state")), []byte(state)) != 1 {
		return grant{}, false
	}
	if e := v.Get("error"); e != "" {
		msg := e
		if d := v.Get("error_description"); d != "" {
			msg += ": " + d
		}
		if e == "access_denied" {
			return grant{err: fmt.Errorf("access was not granted (%s)", printable(msg))}, true
		}
		return grant{err: fmt.Errorf("the server refused the sign-in (%s)", printable(msg))}, true
	}
	tok := v.Get("access_token")
	if tok == "" {
		return grant{err: errors.New("the server's answer holds no access token")}, true
	}
	if t := v.Get("token_type"); t != "" && !strings.EqualFold(t, "bearer") {
		return grant{err: fmt.Errorf("the server issued a %q token; vaultdb needs a bearer token", printable(t))}, true
	}
	return grant{token: tok}, true
}

// readPasted reads addresses the user pastes, until one answers this
// sign-in or input ends.
func readPasted(ctx context.Context, env *location.Env, state string, grants chan<- grant) {
	if env.ReadLine == nil {
		return
	}
	for ctx.Err() == nil {
		line, err := env.ReadLine(ctx, "Address: ")
		line = strings.TrimSpace(line)
		if err != nil || line == "" {
			return // no terminal, or end of input: the browser may still answer
		}
		_, frag, found := strings.Cut(line, "#")
		if !found {
			fmt.Fprintln(env.ErrOut, "That address has no #access_token=... part; paste the whole address the browser ends up at.")
			continue
		}
		g, ok := parseFragment(frag, state)
		if !ok {
			fmt.Fprintln(env.ErrOut, "That address is not the answer to this sign-in (its state differs); paste the address of this sign-in's page.")
			continue
		}
		grants <- g
		return
	}
}

// openBrowser opens u in the user's browser when there is one here. The
// browser gets the environment without vaultdb's passphrase variable.
func openBrowser(env *location.Env, u string) bool {
	if env.Getenv(EnvNoBrowser) != "" {
		return false
	}
	var name string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return false
	default:
		if env.Getenv("DISPLAY") == "" && env.Getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	cmd := exec.Command(path, u)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULTDB_PASSPHRASE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	go cmd.Wait()
	return true
}

// logout deletes the saved remoteStorage sign-ins. remoteStorage has no
// standard way to revoke a token, so the user is told to do it on the
// server.
func logout(_ context.Context, env *location.Env) error {
	path, err := tokenPath(env)
	if err != nil {
		return err
	}
	var accounts []string
	if tf, err := loadTokens(path); err == nil {
		for a := range tf.Accounts {
			accounts = append(accounts, a)
		}
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(env.ErrOut, "Not signed in to remoteStorage (no %s); nothing to do.\n", path)
			return nil
		}
		return fmt.Errorf("cannot delete the remoteStorage sign-in %s: %w", path, err)
	}
	who := "remoteStorage"
	if len(accounts) > 0 {
		who = strings.Join(accounts, ", ")
	}
	fmt.Fprintf(env.ErrOut, "Signed out of %s: deleted %s.\n"+
		"The server may still honour the token until it expires: revoke vaultdb's access in the account's page on the server too.\n", who, path)
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
