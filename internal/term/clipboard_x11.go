package term

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// ClipServeCommand is the hidden helper command that owns the X11 clipboard.
const ClipServeCommand = "__serve-clipboard"

// MaxX11Clip is the largest secret the helper serves in one X request
// (the protocol's request size without the INCR dance); larger values go
// through xclip, without the hint.
const MaxX11Clip = 200 << 10

// passwordHint is the clipboard type with which password managers
// (KeePassXC, KDE Wallet) mark a copy as secret, so that clipboard
// managers (Klipper, CopyQ, cliphist) leave it out of their history.
const passwordHint = "x-kde-passwordManagerHint"

// CopySensitive puts text on the clipboard marked as secret, where the
// platform allows: on Wayland with wl-copy --sensitive (wl-clipboard 2.3
// and later), on X11 by a detached vaultdb helper that owns the selection
// and offers the x-kde-passwordManagerHint type beside the text (xclip
// offers one type only). ok is false when neither applies; the caller then
// copies without the hint.
func CopySensitive(text string) (ok bool, err error) {
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		if _, err := exec.LookPath("wl-copy"); err == nil {
			if !wlCopyHasSensitive() {
				return false, nil
			}
			c := exec.Command("wl-copy", "--sensitive")
			c.Stdin = strings.NewReader(text)
			return true, c.Run()
		}
	}
	if os.Getenv("DISPLAY") == "" || len(text) > MaxX11Clip {
		return false, nil
	}
	return true, startClipServer(text)
}

func wlCopyHasSensitive() bool {
	out, _ := exec.Command("wl-copy", "--help").CombinedOutput()
	return strings.Contains(string(out), "--sensitive")
}

// startClipServer starts the helper detached (its own session, no
// terminal), hands it the secret on stdin, and waits until it owns the
// clipboard.
func startClipServer(text string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c := exec.Command(exe, ClipServeCommand)
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	_, err = io.WriteString(in, text)
	in.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) != "ok" {
			c.Wait()
			return fmt.Errorf("the clipboard helper failed: %s", strings.TrimSpace(strings.TrimPrefix(l, "error: ")))
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		c.Wait()
		return errors.New("the clipboard helper did not take the clipboard within 10s")
	}
	if err != nil {
		return err
	}
	return c.Process.Release()
}

// ServeX11Clipboard owns the CLIPBOARD selection and answers requests for
// the secret as text, and for x-kde-passwordManagerHint with "secret",
// until another program takes the clipboard (a copy, or the clearing
// helper) or ctx ends. It writes "ok" to ready once it is the owner.
func ServeX11Clipboard(ctx context.Context, secret []byte, ready io.Writer) error {
	X, err := xgb.NewConn()
	if err != nil {
		return fmt.Errorf("cannot connect to the X display: %w", err)
	}
	defer X.Close()
	screen := xproto.Setup(X).DefaultScreen(X)
	win, err := xproto.NewWindowId(X)
	if err != nil {
		return err
	}
	if err := xproto.CreateWindowChecked(X, screen.RootDepth, win, screen.Root, 0, 0, 1, 1, 0,
		xproto.WindowClassInputOutput, screen.RootVisual, 0, nil).Check(); err != nil {
		return fmt.Errorf("cannot create a window: %w", err)
	}
	atoms := map[string]xproto.Atom{}
	for _, name := range []string{"CLIPBOARD", "TARGETS", "UTF8_STRING", "TEXT", "text/plain", "text/plain;charset=utf-8", passwordHint} {
		r, err := xproto.InternAtom(X, false, uint16(len(name)), name).Reply()
		if err != nil {
			return err
		}
		atoms[name] = r.Atom
	}
	clip := atoms["CLIPBOARD"]
	textTypes := []xproto.Atom{atoms["UTF8_STRING"], atoms["text/plain;charset=utf-8"], atoms["text/plain"], atoms["TEXT"], xproto.AtomString}
	targets := append([]xproto.Atom{atoms["TARGETS"], atoms[passwordHint]}, textTypes...)
	if err := xproto.SetSelectionOwnerChecked(X, win, clip, xproto.TimeCurrentTime).Check(); err != nil {
		return err
	}
	if r, err := xproto.GetSelectionOwner(X, clip).Reply(); err != nil || r.Owner != win {
		return errors.New("cannot take the clipboard")
	}
	fmt.Fprintln(ready, "ok")
	go func() {
		<-ctx.Done()
		X.Close()
	}()
	for {
		ev, xerr := X.WaitForEvent()
		if ev == nil && xerr == nil {
			return ctx.Err() // the connection closed
		}
		switch e := ev.(type) {
		case xproto.SelectionClearEvent:
			return nil // someone else owns the clipboard now
		case xproto.SelectionRequestEvent:
			prop := e.Property
			if prop == xproto.AtomNone {
				prop = e.Target // an obsolete client
			}
			switch {
			case e.Target == atoms["TARGETS"]:
				data := make([]byte, 4*len(targets))
				for i, a := range targets {
					binary.NativeEndian.PutUint32(data[4*i:], uint32(a))
				}
				xproto.ChangeProperty(X, xproto.PropModeReplace, e.Requestor, prop, xproto.AtomAtom, 32, uint32(len(targets)), data)
			case e.Target == atoms[passwordHint]:
				xproto.ChangeProperty(X, xproto.PropModeReplace, e.Requestor, prop, atoms["UTF8_STRING"], 8, 6, []byte("secret"))
			case containsAtom(textTypes, e.Target):
				typ := e.Target
				if typ == atoms["TEXT"] {
					typ = atoms["UTF8_STRING"]
				}
				xproto.ChangeProperty(X, xproto.PropModeReplace, e.Requestor, prop, typ, 8, uint32(len(secret)), secret)
			default:
				prop = xproto.AtomNone
			}
			n := xproto.SelectionNotifyEvent{Time: e.Time, Requestor: e.Requestor, Selection: e.Selection, Target: e.Target, Property: prop}
			xproto.SendEvent(X, false, e.Requestor, xproto.EventMaskNoEvent, string(n.Bytes()))
		}
	}
}

func containsAtom(list []xproto.Atom, a xproto.Atom) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
