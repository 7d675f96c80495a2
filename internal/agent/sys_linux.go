//go:build linux

package agent

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerUID returns the uid of the process at the other end of c, as the
// kernel recorded it when it connected (SO_PEERCRED): it cannot be forged.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return int(cred.Uid), nil
}

// keyMem is memory for keys outside Go's heap (which the garbage collector
// copies and never wipes): its own page, locked out of swap where
// RLIMIT_MEMLOCK allows, and left out of core dumps.
type keyMem struct {
	page []byte
	n    int
}

func newKeyMem(n int) (*keyMem, bool) {
	page, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return &keyMem{page: make([]byte, n), n: n}, false
	}
	unix.Madvise(page, unix.MADV_DONTDUMP)
	return &keyMem{page: page, n: n}, unix.Mlock(page) == nil
}

func (m *keyMem) bytes() []byte { return m.page[:m.n] }

func (m *keyMem) free() {
	clear(m.page)
	if cap(m.page) == unix.Getpagesize() && len(m.page) == cap(m.page) {
		unix.Munlock(m.page)
		unix.Munmap(m.page)
	}
	m.page = nil
}
