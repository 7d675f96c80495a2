//go:build darwin || freebsd

package agent

import "golang.org/x/sys/unix"

// sockPeerUID is the uid of the process at the other end of the socket fd
// (LOCAL_PEERCRED). Built for macOS and FreeBSD, tested on Linux only.
func sockPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Uid), nil
}
