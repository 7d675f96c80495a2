//go:build !linux

package term

// MemoryFS reports whether dir is on a filesystem held in memory. Outside
// Linux it cannot tell, and says no: edit then needs --unsafe-tmp.
func MemoryFS(dir string) bool { return false }
