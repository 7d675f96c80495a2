package term

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
)

// The clipboard of a Unix desktop is held by the X server or the Wayland
// compositor, reached with a tool (wl-copy, xclip, xsel). Where one of
// these is missing, "exit status 1" helps nobody: these say which tool
// failed, why, and what to do.

// ClipTool is the tool the system clipboard runs, as
// github.com/atotto/clipboard picks it: wl-copy on Wayland (with
// wl-paste), else xclip, else xsel; "" if none is installed.
func ClipTool(getenv func(string) string) string {
	if getenv("WAYLAND_DISPLAY") != "" && found("wl-copy") && found("wl-paste") {
		return "wl-copy"
	}
	for _, t := range []string{"xclip", "xsel", "termux-clipboard-set"} {
		if found(t) {
			return t
		}
	}
	return ""
}

func found(tool string) bool {
	_, err := exec.LookPath(tool)
	return err == nil
}

// ClipUnusable says why the system clipboard cannot work here at all, or
// returns nil.
func ClipUnusable(getenv func(string) string) error {
	switch runtime.GOOS {
	case "darwin", "windows", "android", "ios", "plan9":
		return nil
	}
	wayland, x11 := getenv("WAYLAND_DISPLAY"), getenv("DISPLAY")
	tool := ClipTool(getenv)
	switch {
	case tool == "termux-clipboard-set":
		return nil
	case wayland == "" && x11 == "":
		return errors.New("there is no graphical session to hold a clipboard (neither DISPLAY nor WAYLAND_DISPLAY is set, as over ssh or in a container); print the value instead (without -c)")
	case tool == "" && wayland != "":
		return errors.New("no clipboard tool is installed: on Wayland install wl-clipboard (apt-get install wl-clipboard, dnf install wl-clipboard)")
	case tool == "":
		return errors.New("no clipboard tool is installed: on X11 install xclip or xsel (apt-get install xclip, dnf install xclip)")
	case tool != "wl-copy" && x11 == "":
		return fmt.Errorf("%s needs an X display but DISPLAY is not set (this is Wayland: install wl-clipboard for wl-copy)", tool)
	}
	return nil
}

// ExplainClipError turns the failure of the clipboard tool into a message
// that names the tool and the likely reason.
func ExplainClipError(err error, getenv func(string) string) error {
	switch tool := ClipTool(getenv); tool {
	case "wl-copy":
		return fmt.Errorf("wl-copy failed (%v): it could not reach the Wayland compositor %q (WAYLAND_DISPLAY); check that the session is yours and still running", err, getenv("WAYLAND_DISPLAY"))
	case "xclip", "xsel":
		return fmt.Errorf("%s failed (%v): it could not reach the X display %q (DISPLAY); check that the display exists and that you may use it (XAUTHORITY, xhost)", tool, err, getenv("DISPLAY"))
	}
	return err
}
