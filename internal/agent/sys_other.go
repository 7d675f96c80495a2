//go:build !linux

package agent

import (
	"errors"
	"net"
)

// peerUID is implemented for Linux only: elsewhere the agent refuses every
// client (and the command line does not use it).
func peerUID(*net.UnixConn) (int, error) {
	return 0, errors.New("the agent checks its clients' uid on Linux only")
}

// keyMem is plain memory outside Linux (no mlock here yet).
type keyMem struct{ b []byte }

func newKeyMem(n int) (*keyMem, bool) { return &keyMem{make([]byte, n)}, false }

func (m *keyMem) bytes() []byte { return m.b }

func (m *keyMem) free() { clear(m.b); m.b = nil }
