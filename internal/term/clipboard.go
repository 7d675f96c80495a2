package term

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/atotto/clipboard"
)

// ClipClearCommand is the hidden helper command that clears the clipboard
// later; the program registers it under this name.
const ClipClearCommand = "__clear-clipboard"

// Clipboard is the system clipboard.
type Clipboard interface {
	Write(text string) error
	Read() (string, error)
	// Clear empties the clipboard.
	Clear() error
}

// SystemClipboard uses github.com/atotto/clipboard: wl-copy/wl-paste on
// Wayland, xclip or xsel on X11.
type SystemClipboard struct{}

func (SystemClipboard) Write(text string) error {
	if text != "" {
		// Marked as a secret where the platform allows, so that
		// clipboard managers keep it out of their history.
		if ok, err := CopySensitive(text); ok && err == nil {
			return nil
		}
	}
	if clipboard.Unsupported {
		return errors.New("no clipboard tool found: install wl-clipboard (Wayland), or xclip or xsel (X11)")
	}
	return clipboard.WriteAll(text)
}

func (SystemClipboard) Read() (string, error) { return clipboard.ReadAll() }

func (c SystemClipboard) Clear() error {
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		if _, err := exec.LookPath("wl-copy"); err == nil {
			return exec.Command("wl-copy", "--clear").Run()
		}
	}
	return c.Write("")
}

// StartClipClear starts this program again, detached from the
// terminal and the calling process (its own session, no stdout or
// stderr), as the hidden clipboard-clearing command. The secret's hash
// goes to it on stdin, never in its arguments or environment; the
// variable dropEnv (the passphrase) is removed from its environment.
func StartClipClear(sum [32]byte, d time.Duration, dropEnv string) error {
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
		if !strings.HasPrefix(kv, dropEnv+"=") {
			env = append(env, kv)
		}
	}
	c := exec.Command(exe, ClipClearCommand, "--after", d.String())
	c.Stdin = r
	c.Env = env
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return err
	}
	return c.Process.Release()
}
