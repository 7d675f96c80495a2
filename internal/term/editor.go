package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// editSignals are the signals that make edit stop the editor and remove
// its temporary file instead of dying with it there: Ctrl-C, SIGTERM, a
// closed terminal (SIGHUP) and Ctrl-\ (SIGQUIT). SIGKILL cannot be caught;
// the file is then on a memory filesystem, in a private directory.
var editSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// safeEditorArgs returns the options that keep a known editor from copying
// the secret to disk, as pass and gopass do: vim and neovim get no swap
// file (-n), no viminfo or shada file (-i NONE, which also keeps yanked
// text and search history), and no backup or undo file. editor is the
// command line of $VISUAL or $EDITOR; "vi" counts as vim when it is one.
func safeEditorArgs(editor string) []string {
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
