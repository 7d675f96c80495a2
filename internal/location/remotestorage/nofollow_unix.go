//go:build unix

package remotestorage

import "syscall"

const noFollow = syscall.O_NOFOLLOW
