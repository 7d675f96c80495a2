//go:build unix

package location

import "syscall"

const noFollow = syscall.O_NOFOLLOW
