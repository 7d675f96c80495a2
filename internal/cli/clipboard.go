package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vaultdb/vaultdb/internal/term"
)

// defaultClipTimeout is how long a copied secret stays on the clipboard.
const defaultClipTimeout = 45 * time.Second

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
func (f *Factory) copySecret(o clipOptions, secret []byte, what string) error {
	_, system := f.Clipboard.(term.SystemClipboard)
	if system {
		if err := term.ClipUnusable(f.getenv); err != nil {
			return fmt.Errorf("cannot copy to the clipboard: %w", err)
		}
	}
	if err := f.Clipboard.Write(string(secret)); err != nil {
		if system {
			err = term.ExplainClipError(err, f.getenv)
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

// clipClearOptions are the options of the hidden helper command.
type clipClearOptions struct {
	*Factory
	After time.Duration
	Sleep func(context.Context, time.Duration) error
}

func newClipClearCmd(f *Factory) *cobra.Command {
	o := &clipClearOptions{Factory: f, Sleep: sleep}
	c := &cobra.Command{
		Use:    term.ClipClearCommand,
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

func newClipServeCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:    term.ClipServeCommand,
		Short:  "Own the X11 clipboard with a secret, marked as one (internal)",
		Hidden: true,
		Args:   args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			secret, err := io.ReadAll(io.LimitReader(f.IO.In, term.MaxX11Clip+1))
			defer term.Wipe(secret)
			if err == nil && len(secret) > term.MaxX11Clip {
				err = errors.New("the secret is too large")
			}
			if err == nil {
				err = term.ServeX11Clipboard(c.Context(), secret, f.IO.Out)
			}
			if err != nil {
				fmt.Fprintf(f.IO.Out, "error: %v\n", err)
			}
			return err
		},
	}
}
