//go:build linux

package term

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// readSecretTTY shows prompt on tty and reads one line without echo (see
// SecretLine). The terminal's settings are restored however it ends.
func readSecretTTY(ctx context.Context, tty *os.File, prompt string) ([]byte, error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, ErrNoTerminal
	}
	raw := *old
	raw.Lflag &^= unix.ECHO | unix.ICANON
	raw.Lflag |= unix.ISIG // Ctrl-C still interrupts
	raw.Iflag |= unix.ICRNL
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, ErrNoTerminal
	}
	restore := func() {
		unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprint(tty, pasteModeOff+"\n")
	}
	fmt.Fprint(tty, pasteModeOn+prompt)

	queued := func() int {
		n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
		if err != nil {
			return 0
		}
		return n
	}
	// A terminal without bracketed paste sends a paste as typed keys: the
	// lines after the first are already waiting when Enter is read.
	pending := func() bool {
		if queued() > 0 {
			return true
		}
		time.Sleep(30 * time.Millisecond)
		return queued() > 0
	}
	// A paste may arrive in several writes: flush until the input stays
	// empty for a while, so that no line is left for the shell to run.
	drain := func() {
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH)
			time.Sleep(100 * time.Millisecond)
			if queued() == 0 {
				return
			}
		}
	}

	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := SecretLine(tty, pending, drain)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		restore()
		if r.err != nil {
			return nil, r.err
		}
		return r.b, nil
	case <-ctx.Done():
		// Interrupted: put echo back before the process exits.
		restore()
		return nil, ctx.Err()
	}
}
