//go:build linux

package term

import "golang.org/x/sys/unix"

// SecureMemory disables core dumps (RLIMIT_CORE 0) and marks the process
// not dumpable, which also forbids ptrace attach and reading its memory
// through /proc by other processes of the same user. Both are best effort:
// a failure leaves the process as it was.
func SecureMemory() {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
