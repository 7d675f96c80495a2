package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/atotto/clipboard"
	"github.com/spf13/cobra"
)

// defaultClipTimeout is how long a copied secret stays on the clipboard.
const defaultClipTimeout = 45 * time.Second

// clipClearCmdName is the hidden helper command that clears the clipboard.
const clipClearCmdName = "__clear-clipboard"

// Clipboard is the system clipboard.
type Clipboard interface {
	Write(text string) error
	Read() (string, error)
	// Clear empties the clipboard.
	Clear() error
}

// systemClipboard uses github.com/atotto/clipboard: wl-copy/wl-paste on
// Wayland, xclip or xsel on X11.
type systemClipboard struct{}

func (systemClipboard) Write(text string) error {
	if text != "" {
		// Marked as a secret where the platform allows, so that
		// clipboard managers keep it out of their history.
		if ok, err := copySensitive(text); ok && err == nil {
			return nil
		}
	}
	if clipboard.Unsupported {
		return errors.New("no clipboard tool found: install wl-clipboard (Wayland), or xclip or xsel (X11)")
	}
	return clipboard.WriteAll(text)
}

func (systemClipboard) Read() (string, error) { return clipboard.ReadAll() }

func (c systemClipboard) Clear() error {
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		if _, err := exec.LookPath("wl-copy"); err == nil {
			return exec.Command("wl-copy", "--clear").Run()
		}
	}
	return c.Write("")
}

// clipOptions are the flags of the commands that can copy a secret.
type clipOptions struct {
	Clip    bool
	Timeout time.Duration
}

func addClipFlags(c *cobra.Command, o *clipOptions) {
	c.Flags().BoolVarP(&o.Clip, "clip", "c", false, "copy to the clipboard instead of printing")
	c.Flags().DurationVar(&o.Timeout, "clip-timeout", defaultClipTimeout, "clear the clipboard after this long, if it still holds the secret (0: never)")
}

func (o clipOptions) check(c *cobra.Command) error {
	if c.Flags().Changed("clip-timeout") && !o.Clip {
		return usageErrorf("--clip-timeout needs --clip")
	}
	if o.Timeout < 0 {
		return usageErrorf("--clip-timeout must not be negative")
	}
	return nil
}

// copySecret puts secret on the clipboard, says so on stderr, and arranges
// for it to be cleared after the timeout.
func copySecret(f *Factory, o clipOptions, secret []byte, what string) error {
	_, system := f.Clipboard.(systemClipboard)
	if system {
		if err := clipUnusable(f.getenv); err != nil {
			return fmt.Errorf("cannot copy to the clipboard: %w", err)
		}
	}
	if err := f.Clipboard.Write(string(secret)); err != nil {
		if system {
			err = explainClipError(err, f.getenv)
		}
		return fmt.Errorf("cannot copy to the clipboard: %w", err)
	}
	if o.Timeout == 0 {
		fmt.Fprintf(f.IO.ErrOut, "Copied %s to the clipboard.\n", what)
		return nil
	}
	if err := f.ScheduleClipClear(sha256.Sum256(secret), o.Timeout); err != nil {
		return fmt.Errorf("copied %s to the clipboard, but cannot arrange for it to be cleared: %w; clear it yourself", what, err)
	}
	fmt.Fprintf(f.IO.ErrOut, "Copied %s to the clipboard. It will be cleared in %s.\n", what, o.Timeout)
	return nil
}

// startClipClearHelper starts this program again, detached from the
// terminal and the calling process (its own session, no stdout or
// stderr), as the hidden clipboard-clearing command. The secret's hash
// goes to it on stdin, never in its arguments or environment; the
// passphrase variable is removed from its environment.
func startClipClearHelper(sum [32]byte, d time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// The hash fits in the pipe's buffer, so it can be written first.
	_, err = fmt.Fprintln(w, hex.EncodeToString(sum[:]))
	w.Close()
	if err != nil {
		return err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPassphrase+"=") {
			env = append(env, kv)
		}
	}
	c := exec.Command(exe, clipClearCmdName, "--after", d.String())
	c.Stdin = r
	c.Env = env
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return err
	}
	return c.Process.Release()
}

// clipClearOptions are the options of the hidden helper command.
type clipClearOptions struct {
	*Factory
	After time.Duration
	Sleep func(context.Context, time.Duration) error
}

func newClipClearCmd(f *Factory) *cobra.Command {
	o := &clipClearOptions{Factory: f, Sleep: sleep}
	c := &cobra.Command{
		Use:    clipClearCmdName,
		Short:  "Clear the clipboard later if it still holds a secret (internal)",
		Hidden: true,
		Args:   args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return runClipClear(c.Context(), o)
		},
	}
	c.Flags().DurationVar(&o.After, "after", defaultClipTimeout, "wait this long")
	return c
}

// runClipClear reads the hex SHA-256 of the secret from stdin, waits, and
// clears the clipboard if its content still has that hash.
func runClipClear(ctx context.Context, o *clipClearOptions) error {
	line, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("expected the hash of the secret on stdin")
	}
	want, err := hex.DecodeString(strings.TrimSpace(line))
	if err != nil || len(want) != sha256.Size {
		return errors.New("expected the hex SHA-256 of the secret on stdin")
	}
	if c, ok := o.IO.In.(interface{ Close() error }); ok {
		c.Close()
	}
	if err := o.Sleep(ctx, o.After); err != nil {
		return err
	}
	cur, err := o.Clipboard.Read()
	if err != nil {
		return err
	}
	got := sha256.Sum256([]byte(cur))
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return nil // the user copied something else meanwhile
	}
	return o.Clipboard.Clear()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// secretText is the text of a document value that get prints or copies:
// a JSON string as its raw content, anything else as indented JSON.
func secretText(v []byte) ([]byte, error) {
	var s string
	if len(v) > 0 && v[0] == '"' {
		if err := jsonUnmarshal(v, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
	return indentJSON(v)
}
