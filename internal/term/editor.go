package term

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

// EditSignals are the signals that make edit stop the editor and remove
// its temporary file instead of dying with it there: Ctrl-C, SIGTERM, a
// closed terminal (SIGHUP) and Ctrl-\ (SIGQUIT). SIGKILL cannot be caught;
// the file is then on a memory filesystem, in a private directory.
var EditSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// SafeEditorArgs returns the options that keep a known editor from copying
// the secret to disk, as pass and gopass do: vim and neovim get no swap
// file (-n), no viminfo or shada file (-i NONE, which also keeps yanked
// text and search history), and no backup or undo file. editor is the
// command line of $VISUAL or $EDITOR; "vi" counts as vim when it is one.
func SafeEditorArgs(editor string) []string {
	fields := strings.Fields(editor)
	if len(fields) == 0 {
		return nil
	}
	if isVim(fields[0]) {
		return []string{"-n", "-i", "NONE", "-c", "set nobackup nowritebackup noundofile noswapfile"}
	}
	return nil
}

// isVim reports whether the program is vim or neovim, following the
// symbolic links (Debian's vi and editor are links to vim.basic or
// vim.tiny; nvi, busybox vi and others do not take vim's options).
func isVim(prog string) bool {
	vim := func(name string) bool {
		name = strings.TrimSuffix(filepath.Base(name), ".exe")
		for _, v := range []string{"vim", "nvim", "gvim", "vimx", "rvim", "vim.basic", "vim.tiny", "vim.gtk", "vim.gtk3", "vim.nox", "vim.athena"} {
			if name == v {
				return true
			}
		}
		return false
	}
	if vim(prog) {
		return true
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(path)
	return err == nil && vim(real)
}

// WritePrivate writes data to file, readable and writable by its owner
// only.
func WritePrivate(file string, data []byte) error {
	os.Remove(file)
	fh, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the temporary file: %w", err)
	}
	_, err = fh.Write(data)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write the temporary file: %w", err)
	}
	return nil
}

// RemovePrivateDir overwrites the files in dir (an editor may have left a
// backup or swap file too) and removes it.
func RemovePrivateDir(dir string) {
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				if fh, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
					fh.Write(make([]byte, info.Size()))
					fh.Close()
				}
			}
		}
	}
	os.RemoveAll(dir)
}

// RunEditor runs the editor command line (it may hold arguments, as in
// "code --wait") on file, with the command's streams. Interrupted, the
// editor is asked to stop.
func RunEditor(ctx context.Context, ios *IOStreams, editor, file string) error {
	// An editor stopped by a signal leaves the terminal as it had set it
	// (raw, no echo): put back the settings it started with.
	if f, ok := ios.In.(*os.File); ok && ios.InTTY {
		if state, err := term.GetState(int(f.Fd())); err == nil {
			defer term.Restore(int(f.Fd()), state)
		}
	}
	args := append([]string{"-c", "exec " + editor + ` "$@"`, editor}, SafeEditorArgs(editor)...)
	c := exec.CommandContext(ctx, "/bin/sh", append(args, file)...)
	c.Stdin, c.Stdout, c.Stderr = ios.In, ios.Out, ios.ErrOut
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 3 * time.Second
	err := c.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("the editor (%s) failed: %v; nothing was saved", editor, err)
	}
	return nil
}
