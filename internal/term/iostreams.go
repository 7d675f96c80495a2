// Package term is vaultdb's terminal plumbing: a command's streams and
// whether each is a terminal, prompts for secrets on /dev/tty (one line,
// no echo, bracketed pastes), text made safe to show, the system
// clipboard and its helpers, the editor on a private file, and the
// process hardening that keeps secrets out of core dumps. It knows
// nothing of stores or commands.
package term

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams, whether each is a terminal,
// and the Prompter that asks the user for secrets and confirmations. Tests
// build one with fake streams to play a terminal or a pipe.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool

	Prompter Prompter
}

// Prompter asks the user questions on the terminal.
type Prompter interface {
	// Secret shows prompt and reads one line without echo.
	Secret(ctx context.Context, prompt string) ([]byte, error)
	// Confirm shows prompt and reports whether the answer is yes.
	Confirm(ctx context.Context, prompt string) (bool, error)
}

// ErrNoTerminal means there is no terminal to prompt on.
var ErrNoTerminal = errors.New("no terminal to prompt on")

// SystemIO returns the process's streams. Prompts go to /dev/tty, so that
// stdin and stdout stay free for data.
func SystemIO() *IOStreams {
	return &IOStreams{
		In:       os.Stdin,
		Out:      os.Stdout,
		ErrOut:   os.Stderr,
		InTTY:    term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY:   term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY:   term.IsTerminal(int(os.Stderr.Fd())),
		Prompter: TTYPrompter{},
	}
}

// TTYPrompter prompts on the controlling terminal, /dev/tty.
type TTYPrompter struct{}

func openTTY() (*os.File, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, ErrNoTerminal
	}
	if !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		return nil, ErrNoTerminal
	}
	return tty, nil
}

func (TTYPrompter) Secret(ctx context.Context, prompt string) ([]byte, error) {
	tty, err := openTTY()
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	return readSecretTTY(ctx, tty, prompt)
}

func (TTYPrompter) Confirm(ctx context.Context, prompt string) (bool, error) {
	tty, err := openTTY()
	if err != nil {
		return false, err
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt+" [y/N] ")
	ch := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(tty).ReadString('\n')
		ch <- line
	}()
	select {
	case line := <-ch:
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(tty)
		return false, ctx.Err()
	}
}

// LineReader is a Prompter that can also read a line with echo, for input
// that is not a secret.
type LineReader interface {
	Line(ctx context.Context, prompt string) (string, error)
}

// ReadLine reads one line (at most 4 KiB) from r, or returns when ctx is
// done.
func ReadLine(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
		ch <- result{s, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return "", fmt.Errorf("cannot read from stdin: %w", res.err)
		}
		return res.s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Line reads a line on the terminal, with echo.
func (TTYPrompter) Line(ctx context.Context, prompt string) (string, error) {
	tty, err := openTTY()
	if err != nil {
		return "", err
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	s, err := ReadLine(ctx, tty)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(tty)
	}
	return s, err
}

// Wipe overwrites a secret buffer once it is no longer needed.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
