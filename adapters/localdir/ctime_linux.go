package localdir

import "golang.org/x/sys/unix"

// ctimeIsChangeTimeAt reports whether st_ctime is a status-change time on
// the filesystem of dir (false when it cannot tell).
func ctimeIsChangeTimeAt(dir string) bool {
	var sf unix.Statfs_t
	if err := unix.Statfs(dir, &sf); err != nil {
		return false
	}
	return ctimeIsChangeTime(int64(sf.Type))
}

// ctimeIsChangeTime reports whether st_ctime is a status-change time the
// kernel keeps on the filesystem of statfs type magic: true only for the
// local filesystems known to do so, so an unknown one (vfat, exfat, FUSE,
// NFS, SMB, ...) costs a re-read of the blob, never a missed change.
func ctimeIsChangeTime(magic int64) bool {
	switch magic {
	case unix.EXT4_SUPER_MAGIC, // also ext2 and ext3
		unix.XFS_SUPER_MAGIC,
		unix.BTRFS_SUPER_MAGIC,
		unix.TMPFS_MAGIC,
		unix.F2FS_SUPER_MAGIC,
		unix.BCACHEFS_SUPER_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC,
		0x2fc12fc1: // zfs
		return true
	}
	return false
}
