//go:build !linux

package term

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// readSecretTTY shows prompt on tty and reads one line without echo.
// Outside Linux it cannot see a paste whole: the terminal's own line
// reading is used, and Ctrl-D on an empty line cancels.
func readSecretTTY(ctx context.Context, tty *os.File, prompt string) ([]byte, error) {
	fd := int(tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, ErrNoTerminal
	}
	fmt.Fprint(tty, prompt)
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		fmt.Fprintln(tty)
		if errors.Is(r.err, io.EOF) && len(r.b) == 0 {
			return nil, ErrCancelled
		}
		if r.err != nil {
			return nil, fmt.Errorf("failed to read from the terminal: %w", r.err)
		}
		return r.b, nil
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(tty)
		return nil, ctx.Err()
	}
}
