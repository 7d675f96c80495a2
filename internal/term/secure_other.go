//go:build !linux

package term

import "syscall"

// SecureMemory disables core dumps where the platform allows.
func SecureMemory() {
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
