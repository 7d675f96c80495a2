package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
	"github.com/vaultdb/vaultdb/vault"
)

// GitCredentialOptions are the options of "vaultdb git-credential".
type GitCredentialOptions struct {
	IO       *term.IOStreams
	ReadTask func(ctx context.Context, read func(*vault.Task) error) error
	Op       string
	Prefix   string
}

func newGitCredentialCmd(f *Factory, runF func(*GitCredentialOptions) error) *cobra.Command {
	o := &GitCredentialOptions{IO: f.IO, ReadTask: f.readTask}
	c := &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "A git credential helper that answers from the store",
		Long: `Answer git's requests for a password or token from the store, so that no
secret is ever in a URL, a command line or .git/config. Set it up once:

  git config --global credential.helper '!vaultdb git-credential'

For https://HOST/... git asks "get"; the answer is the entry DIR/HOST
(default DIR git/; HOST with its :PORT if git gives one), or DIR/HOST/USER
when git already knows the user name. A string entry is the password (or
token); an object gives "password" (or "token") and, optionally,
"username". No entry: no answer, and git goes on to its next helper or
asks. "store" and "erase" change nothing: entries are written with
"vaultdb set" (git calls them after a login succeeds or fails).`,
		Example: `  git config --global credential.helper '!vaultdb git-credential'
  vaultdb set git/github.com/octocat        # asks for the token
  git clone https://octocat@github.com/o/private-repo`,
		Args:      args(cobra.ExactArgs(1)),
		ValidArgs: []string{"get", "store", "erase"},
		RunE: func(c *cobra.Command, a []string) error {
			o.Op = a[0]
			if runF != nil {
				return runF(o)
			}
			return runGitCredential(c.Context(), o)
		},
	}
	c.Flags().StringVar(&o.Prefix, "dir", "git/", "the directory of the git entries")
	return c
}

// maxGitRequest bounds what is read of git's request: a few short lines.
const maxGitRequest = 64 << 10

func runGitCredential(ctx context.Context, o *GitCredentialOptions) error {
	switch o.Op {
	case "get":
	case "store", "erase":
		// Read the request so that git does not get a broken pipe.
		io.Copy(io.Discard, io.LimitReader(o.IO.In, maxGitRequest))
		return nil
	default:
		return usageErrorf("unknown operation %q: git calls the helper with get, store or erase", o.Op)
	}
	dir, err := dirPath(o.Prefix)
	if err != nil {
		return err
	}
	req, err := readGitRequest(o.IO.In)
	if err != nil {
		return err
	}
	host := req["host"]
	if host == "" || strings.ContainsAny(host, "/") {
		return nil // nothing this helper can name
	}
	var paths []string
	if u := req["username"]; u != "" && !strings.Contains(u, "/") {
		paths = append(paths, dir+host+"/"+u)
	}
	paths = append(paths, dir+host)
	for i := range paths {
		if _, err := docPath(paths[i]); err != nil {
			return nil // a host or user name that cannot be an entry
		}
	}
	var b []byte
	defer func() { term.Wipe(b) }()
	err = o.ReadTask(ctx, func(t *vault.Task) error {
		for _, p := range paths {
			v, err := t.Get(ctx, p)
			if errors.Is(err, vault.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			defer term.Wipe(v)
			user, pass, err := gitCredential(v)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			defer term.Wipe(pass)
			if user == "" {
				user = req["username"]
			}
			if user != "" {
				b = append(b, "username="+user+"\n"...)
			}
			b = append(b, "password="...)
			b = append(b, pass...)
			b = append(b, '\n')
			return nil
		}
		// Nothing for this host: let readTask check that the agent's
		// keys are this store's before git is told so.
		return errEmptyStore
	})
	if errors.Is(err, errEmptyStore) {
		return nil // git asks its next helper, or the user
	}
	if err != nil {
		return err
	}
	_, err = o.IO.Out.Write(b)
	return err
}

// readGitRequest reads git's key=value lines up to a blank line or the
// end. Values with a line end cannot occur (git forbids them).
func readGitRequest(r io.Reader) (map[string]string, error) {
	req := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(r, maxGitRequest))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, errors.New("git's request is not key=value lines")
		}
		req[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read git's request: %w", err)
	}
	return req, nil
}

// gitCredential reads an entry: a string is the password; an object has
// "password" or "token", and maybe "username" (or "user", "login"). The
// error never quotes the entry.
func gitCredential(v json.RawMessage) (user string, pass []byte, err error) {
	u, p, err := gitFields(v)
	if err != nil {
		return "", nil, err
	}
	// A line end in a value would let the entry add keys to the answer.
	if strings.ContainsAny(u+p, "\n\x00") {
		return "", nil, errors.New("the entry holds a line end or NUL, which git's protocol cannot carry")
	}
	return u, []byte(p), nil
}

func gitFields(v json.RawMessage) (user, pass string, err error) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return "", s, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil {
		return "", "", errors.New("the entry is neither a string nor an object with a \"password\" field")
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			var x string
			if json.Unmarshal(obj[k], &x) == nil && x != "" {
				return x
			}
		}
		return ""
	}
	p := str("password", "token")
	if p == "" {
		return "", "", errors.New("the entry has no \"password\" or \"token\" string field")
	}
	return str("username", "user", "login"), p, nil
}
