package cli

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

// errNoTerminal means there is no terminal to prompt on.
var errNoTerminal = errors.New("no terminal to prompt on")

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
		Prompter: ttyPrompter{},
	}
}

// ttyPrompter prompts on the controlling terminal, /dev/tty.
type ttyPrompter struct{}

func openTTY() (*os.File, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoTerminal
	}
	if !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		return nil, errNoTerminal
	}
	return tty, nil
}

func (ttyPrompter) Secret(ctx context.Context, prompt string) ([]byte, error) {
	tty, err := openTTY()
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	return readSecretTTY(ctx, tty, prompt)
}

func (ttyPrompter) Confirm(ctx context.Context, prompt string) (bool, error) {
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

// wipe overwrites a secret buffer once it is no longer needed.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
