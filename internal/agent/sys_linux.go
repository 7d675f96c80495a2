//go:build linux

package agent

import "golang.org/x/sys/unix"

// sockPeerUID is the uid the kernel recorded for the process at the other
// end of the socket fd when it connected (SO_PEERCRED).
func sockPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
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
