//go:build !linux

package cli

// memoryFS reports whether dir is on a filesystem held in memory. Outside
// Linux it cannot tell, and says no: edit then needs --unsafe-tmp.
func memoryFS(dir string) bool { return false }
