package agent

import "net"

// peerUID returns the uid of the process at the other end of c, as the
// kernel recorded it when it connected: it cannot be forged.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var uid int
	var uerr error
	if err := raw.Control(func(fd uintptr) { uid, uerr = sockPeerUID(int(fd)) }); err != nil {
		return 0, err
	}
	return uid, uerr
}
