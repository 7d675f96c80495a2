//go:build !linux

package agent

// keyMem is plain memory outside Linux (no mlock or MADV_DONTDUMP here yet).
type keyMem struct{ b []byte }

func newKeyMem(n int) (*keyMem, bool) { return &keyMem{make([]byte, n)}, false }

func (m *keyMem) bytes() []byte { return m.b }

func (m *keyMem) free() { clear(m.b); m.b = nil }
