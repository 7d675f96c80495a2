package localdir

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The write shortcut (blob.current) is used only where st_ctime is a
// change time.
func TestCtimeIsChangeTime(t *testing.T) {
	for _, c := range []struct {
		name  string
		magic int64
		want  bool
	}{
		{"ext4", unix.EXT4_SUPER_MAGIC, true},
		{"xfs", unix.XFS_SUPER_MAGIC, true},
		{"btrfs", unix.BTRFS_SUPER_MAGIC, true},
		{"tmpfs", unix.TMPFS_MAGIC, true},
		{"vfat", unix.MSDOS_SUPER_MAGIC, false},
		{"exfat", unix.EXFAT_SUPER_MAGIC, false},
		{"fuse", unix.FUSE_SUPER_MAGIC, false},
		{"nfs", unix.NFS_SUPER_MAGIC, false},
		{"smb2", unix.SMB2_SUPER_MAGIC, false},
		{"unknown", 0x12345678, false},
	} {
		if got := ctimeIsChangeTime(c.magic); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// This machine's temporary directory (ext4 or tmpfs) is trusted, so the
	// shortcut's own tests exercise it.
	if !ctimeIsChangeTimeAt(t.TempDir()) {
		var sf unix.Statfs_t
		_ = unix.Statfs(t.TempDir(), &sf)
		t.Errorf("the test directory's filesystem (type %#x) is not trusted", sf.Type)
	}
}
