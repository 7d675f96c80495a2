//go:build !linux

package localdir

// ctimeIsChangeTimeAt is false where the filesystem's kind is not checked
// (see ctime_linux.go): every write reads and hashes the blob.
func ctimeIsChangeTimeAt(string) bool { return false }
