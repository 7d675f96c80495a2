package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// SocketName is the agent's socket in Dir.
const SocketName = "agent.sock"

// lockName is the file the running agent holds a lock on, so that a second
// agent refuses to start and a stale socket can be removed safely.
const lockName = "agent.lock"

// maxSocketPath is what a unix socket address holds on Linux (108 bytes
// with the terminating NUL).
const maxSocketPath = 107

// Dir returns the agent's directory: $XDG_RUNTIME_DIR/vaultdb, where the
// session manager gives each user a private tmpfs; without it (a cron job,
// a container, ssh without pam_systemd) /tmp/vaultdb-UID, which CheckDir
// accepts only if this user owns it and no one else may enter it, as tmux
// does for /tmp/tmux-UID.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "vaultdb")
	}
	return filepath.Join("/tmp", "vaultdb-"+strconv.Itoa(os.Getuid()))
}

// UnsafeError is a directory or socket that another user owns or may
// enter: the agent refuses to use it.
type UnsafeError struct {
	Path string
	Why  string
}

func (e *UnsafeError) Error() string { return e.Path + " " + e.Why }

// CheckDir checks that dir is a directory, not a symbolic link, owned by
// this user, that no other user may enter or change.
func CheckDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	return checkOwned(dir, st, true)
}

func checkOwned(path string, st fs.FileInfo, isDir bool) error {
	switch {
	case isDir && !st.IsDir():
		return &UnsafeError{path, fmt.Sprintf("is not a directory (%s)", st.Mode().Type())}
	case !isDir && st.Mode().Type() != fs.ModeSocket:
		return &UnsafeError{path, fmt.Sprintf("is not a socket (%s)", st.Mode().Type())}
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return &UnsafeError{path, fmt.Sprintf("belongs to uid %d, not to this user (uid %d)", sys.Uid, os.Getuid())}
	}
	if st.Mode().Perm()&0o077 != 0 {
		want := "700"
		if !isDir {
			want = "600"
		}
		return &UnsafeError{path, fmt.Sprintf("may be used by other users (mode %04o; chmod %s)", st.Mode().Perm(), want)}
	}
	return nil
}

// checkSocket checks the socket file as CheckDir checks its directory.
func checkSocket(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkOwned(path, st, false)
}

// makeDir creates dir (0700) if it is missing and checks it.
func makeDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return CheckDir(dir)
}
