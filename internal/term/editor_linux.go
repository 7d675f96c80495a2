//go:build linux

package term

import "golang.org/x/sys/unix"

// MemoryFS reports whether dir is on a filesystem held in memory (tmpfs or
// ramfs), whose content never reaches a disk (short of swap).
func MemoryFS(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}
