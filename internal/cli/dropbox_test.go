package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultdb/vaultdb/adapters"
	"github.com/vaultdb/vaultdb/adapters/dropbox"
	"github.com/vaultdb/vaultdb/adapters/dropbox/dropboxtest"
	"github.com/vaultdb/vaultdb/adapters/retry"
	"github.com/vaultdb/vaultdb/internal/location"
	locdropbox "github.com/vaultdb/vaultdb/internal/location/dropbox"
	"github.com/vaultdb/vaultdb/internal/term"
)

func TestExitCodesOfStoreErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		code int
	}{
		{adapters.NewError("read", "config", adapters.ErrUnauthorized, errors.New("x")), ExitUnauthorized},
		{fmt.Errorf("cannot read: %w", location.NotSignedInf("not signed in")), ExitUnauthorized},
		{&retry.GaveUpError{Attempts: 5, Err: adapters.NewError("read", "config", adapters.ErrTransient, errors.New("x"))}, ExitUnavailable},
		{adapters.NewError("write", "config", adapters.ErrConflict, nil), ExitError},
	} {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}

// codePrompter plays the user at a terminal: it finds the authorisation
// URL in what was printed, approves it at the fake Dropbox and "pastes"
// the code.
type codePrompter struct {
	fakePrompter
	errOut *bytes.Buffer
	fake   *dropboxtest.Server
	asked  []string
}

var urlRE = regexp.MustCompile(`http://\S+/oauth2/authorize\?\S+`)

func (p *codePrompter) code(prompt string) (string, error) {
	p.asked = append(p.asked, prompt)
	u := urlRE.FindString(p.errOut.String())
	if u == "" {
		return "", errors.New("test: no authorisation URL was printed before the prompt")
	}
	return p.fake.Approve(u)
}

func (p *codePrompter) Secret(ctx context.Context, prompt string) ([]byte, error) {
	if strings.HasPrefix(prompt, "Passphrase") || strings.HasPrefix(prompt, "New passphrase") || strings.HasPrefix(prompt, "Retype") {
		return p.fakePrompter.Secret(ctx, prompt)
	}
	c, err := p.code(prompt)
	return []byte(c), err
}

// linePrompter is a codePrompter that also reads lines with echo.
type linePrompter struct{ *codePrompter }

func (p linePrompter) Line(ctx context.Context, prompt string) (string, error) {
	return p.code(prompt)
}

// dropboxEnv is an in-process environment with a fake Dropbox.
type dropboxEnv struct {
	t      *testing.T
	fake   *dropboxtest.Server
	config string
	vars   map[string]string
}

func newDropboxEnv(t *testing.T) *dropboxEnv {
	fake := dropboxtest.NewServer(t)
	config := t.TempDir()
	return &dropboxEnv{t: t, fake: fake, config: config, vars: map[string]string{
		"XDG_CONFIG_HOME":        config,
		"HOME":                   "/nonexistent",
		"XDG_RUNTIME_DIR":        t.TempDir(), // no agent
		envStore:                 "dropbox:/Vault",
		envPassphrase:            "pw",
		locdropbox.EnvAPIURL:     fake.URL,
		locdropbox.EnvContentURL: fake.URL,
		locdropbox.EnvTokenURL:   fake.TokenURL(),
		locdropbox.EnvAuthURL:    fake.AuthURL(),
	}}
}

func (e *dropboxEnv) tokenPath() string {
	return filepath.Join(e.config, "vaultdb", locdropbox.TokenFileName)
}

// run runs vaultdb in-process; with tty, stdin is a terminal and the code
// is "pasted" through the prompter.
func (e *dropboxEnv) run(tty, line bool, in string, args ...string) (result, *codePrompter) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	cp := &codePrompter{errOut: &errOut, fake: e.fake}
	var p term.Prompter = cp
	if line {
		p = linePrompter{cp}
	}
	f := &Factory{
		IO:  &term.IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut, InTTY: tty, OutTTY: tty, ErrTTY: tty, Prompter: p},
		Now: time.Now,
		LookupEnv: func(k string) (string, bool) {
			v, ok := e.vars[k]
			return v, ok
		},
		Rand: cryptoRand{},
	}
	code := Execute(context.Background(), f, args)
	return result{code, out.String(), errOut.String()}, cp
}

func TestDropboxLoginOnTerminal(t *testing.T) {
	t.Parallel()
	for _, line := range []bool{true, false} {
		t.Run(fmt.Sprintf("line=%v", line), func(t *testing.T) {
			e := newDropboxEnv(t)
			r, p := e.run(true, line, "stdin is not read", "login", "dropbox", "--app-key", dropboxtest.AppKey)
			if r.code != 0 || len(p.asked) != 1 || !strings.Contains(r.errOut, "Signed in to Dropbox") {
				t.Fatalf("login: exit %d, prompts %q, stderr %q", r.code, p.asked, r.errOut)
			}
			tf, err := locdropbox.LoadToken(e.tokenPath())
			if err != nil || tf.AppKey != dropboxtest.AppKey || tf.Token.RefreshToken == "" {
				t.Fatalf("token file: %+v, %v", tf, err)
			}
			// The store works, and its files are under the folder.
			if r, _ := e.run(false, false, "", "init", "--iterations", "1000", "--shards", "2"); r.code != 0 {
				t.Fatalf("init: %d %q", r.code, r.errOut)
			}
			if r, _ := e.run(false, false, "v", "set", "a/b"); r.code != 0 {
				t.Fatalf("set: %d %q", r.code, r.errOut)
			}
			if r, _ := e.run(false, false, "", "get", "a/b"); r.code != 0 || r.out != "v\n" {
				t.Fatalf("get: %d %q %q", r.code, r.out, r.errOut)
			}
			if _, _, display, ok := e.fake.File("/vault/config"); !ok || display != "/Vault/config" {
				t.Errorf("config at %q, %v", display, ok)
			}
		})
	}
}

func TestDropboxLoginFromStdin(t *testing.T) {
	t.Parallel()
	e := newDropboxEnv(t)
	// The code must be known before the run; stdin is read after the URL
	// is printed, so approve a URL made with the same app key: any code
	// the fake issued but was not made for this login's PKCE verifier is
	// refused, which is what this checks.
	code, err := e.fake.Approve(dropbox.AuthConfig{AppKey: dropboxtest.AppKey, AuthURL: e.fake.AuthURL()}.StartLogin().URL)
	if err != nil {
		t.Fatal(err)
	}
	r, p := e.run(false, false, code+"\n", "login", "dropbox", "--app-key", dropboxtest.AppKey)
	if r.code != ExitUnauthorized || !strings.Contains(r.errOut, "did not accept the code") || len(p.asked) != 0 {
		t.Errorf("login with another login's code: exit %d, prompts %q, stderr %q", r.code, p.asked, r.errOut)
	}
	r, _ = e.run(false, false, "", "login", "dropbox", "--app-key", dropboxtest.AppKey)
	expectLast(t, r, ExitUsage, "no code")
	if _, err := os.Stat(e.tokenPath()); !os.IsNotExist(err) {
		t.Errorf("a token was saved: %v", err)
	}
}

// expectLast checks the exit code and the last line of stderr.
func expectLast(t *testing.T, r result, code int, sub string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.errOut, "\n"), "\n")
	if r.code != code || !strings.Contains(lines[len(lines)-1], sub) {
		t.Errorf("exit %d, want %d with %q; stderr %q", r.code, code, sub, r.errOut)
	}
}

func TestDropboxLoginNoTerminal(t *testing.T) {
	t.Parallel()
	e := newDropboxEnv(t)
	var out, errOut bytes.Buffer
	f := &Factory{
		IO: &term.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, InTTY: true,
			Prompter: &fakePrompter{noTTY: true}},
		LookupEnv: func(k string) (string, bool) { v, ok := e.vars[k]; return v, ok },
	}
	code := Execute(context.Background(), f, []string{"login", "dropbox", "--app-key", dropboxtest.AppKey})
	expectLast(t, result{code, out.String(), errOut.String()}, ExitUsage, "pipe it to stdin")
}

func TestDropboxRefreshedTokenIsSaved(t *testing.T) {
	t.Parallel()
	e := newDropboxEnv(t)
	if r, _ := e.run(true, true, "", "login", "dropbox", "--app-key", dropboxtest.AppKey); r.code != 0 {
		t.Fatalf("login: %q", r.errOut)
	}
	if r, _ := e.run(false, false, "", "init", "--iterations", "1000", "--shards", "1"); r.code != 0 {
		t.Fatalf("init: %q", r.errOut)
	}
	before, _ := locdropbox.LoadToken(e.tokenPath())
	// Several processes' worth of concurrent refreshes all leave a good file.
	e.fake.ExpireAccessTokens()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if r, _ := e.run(false, false, "", "ls"); r.code != 0 {
				t.Errorf("ls: %d %q", r.code, r.errOut)
			}
		})
	}
	wg.Wait()
	after, err := locdropbox.LoadToken(e.tokenPath())
	if err != nil || after.Token.AccessToken == before.Token.AccessToken || after.Token.RefreshToken != before.Token.RefreshToken || after.AppKey != dropboxtest.AppKey {
		t.Errorf("token after refresh: %+v, %v", after, err)
	}
}
