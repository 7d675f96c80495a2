//go:build !linux

package cli

import "syscall"

// secureMemory disables core dumps where the platform allows.
func secureMemory() {
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
